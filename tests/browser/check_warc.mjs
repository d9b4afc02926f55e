// Reads WARC files with warcio (a reader not of ours) and prints one JSON line per record: its
// type, target URI, record id, WARC-Concurrent-To, whether its WARC-Block-Digest and
// WARC-Payload-Digest match the bytes warcio reads (SHA-1, base32), the payload digest itself,
// WARC-Truncated and WARC-IP-Address, the HTTP status, and its offset and length as warcio's
// CDX indexer gives them.
//   node check_warc.mjs FILE...
// Exits 1, saying why, if warcio cannot read a file.
import { WARCParser, CDXIndexer } from "warcio";
import base32Encode from "base32-encode";
import { createHash } from "node:crypto";
import fs from "node:fs";

const sha1 = (bytes) =>
  "sha1:" + base32Encode(createHash("sha1").update(bytes).digest(), "RFC4648");

for (const file of process.argv.slice(2)) {
  try {
    // The whole block, raw, for the block digest.
    const blocks = [];
    for await (const record of WARCParser.iterRecords(fs.createReadStream(file), {
      parseHttp: false,
    })) {
      const block = await record.readFully(false);
      blocks.push(sha1(block) === record.warcHeader("WARC-Block-Digest"));
    }
    // The HTTP payload, raw (not de-chunked or decoded), for the payload digest.
    const records = [];
    for await (const record of WARCParser.iterRecords(fs.createReadStream(file))) {
      const payload = await record.readFully(false);
      const want = record.warcHeader("WARC-Payload-Digest");
      records.push({
        file,
        type: record.warcType,
        uri: record.warcTargetURI ?? "",
        id: record.warcHeader("WARC-Record-ID"),
        concurrent_to: record.warcHeader("WARC-Concurrent-To") ?? "",
        block_ok: blocks[records.length],
        payload_ok: want ? sha1(payload) === want : null,
        payload_digest: want ?? "",
        truncated: record.warcHeader("WARC-Truncated") ?? "",
        ip: record.warcHeader("WARC-IP-Address") ?? "",
        http_status: record.httpHeaders ? Number(record.httpHeaders.statusCode) : 0,
      });
    }
    // Offsets and lengths, as an index of the file names them.
    const indexer = new CDXIndexer({ format: "cdxj", all: true }, null);
    let i = 0;
    for await (const cdx of indexer.iterIndex([{ reader: fs.createReadStream(file), filename: file }])) {
      if (i < records.length) {
        records[i].offset = Number(cdx.offset);
        records[i].length = Number(cdx.length);
      }
      ++i;
    }
    for (const r of records) console.log(JSON.stringify(r));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(1);
  }
}
