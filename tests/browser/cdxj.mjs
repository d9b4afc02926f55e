// Prints the CDXJ index npm's warcio writes for WARC files (its `cdx-index` command's lines,
// each file named by its base name), sorted as `LC_ALL=C sort` sorts them.
//   node cdxj.mjs FILE...
import { CDXIndexer } from "warcio";
import fs from "node:fs";
import path from "node:path";

const indexer = new CDXIndexer({ format: "cdxj" }, null);
const lines = [];
for (const file of process.argv.slice(2)) {
  const files = [{ reader: fs.createReadStream(file), filename: path.basename(file) }];
  for await (const entry of indexer.iterIndex(files)) lines.push(indexer.serialize(entry));
}
lines.sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0));
process.stdout.write(lines.join(""));
