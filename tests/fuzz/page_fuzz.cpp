// What a worker makes of a hostile page: its parse (extract, resolve, judge) and its record
// never crash, and stay within a page's bounds: links and images within html::Limits, the record
// within queue::k_max_record_bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz.hpp"
#include "html/outlinks.hpp"
#include "queue/record.hpp"
#include "worker/parse_pool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl;
  static const auto filter = std::make_shared<const policy::LinkFilter>(
      std::move(*policy::LinkFilter::create(policy::JobOptions{}, {"fuzz.example"})));
  worker::ParseJob job;
  job.url = "http://fuzz.example/dir/page.html";
  job.body.assign(reinterpret_cast<const char*>(data), size);
  job.filter = filter;
  job.max_links = 6000;
  const worker::Parsed parsed = worker::parse(job);
  std::size_t link_bytes = 0, image_bytes = 0;
  for (const auto& link : parsed.links) link_bytes += link.url.size();
  for (const auto& image : parsed.images) image_bytes += image.size();
  FUZZ_CHECK(parsed.links.size() <= 6000 && link_bytes <= html::k_max_link_bytes);
  FUZZ_CHECK(parsed.images.size() <= 6000 && image_bytes <= html::k_max_image_bytes);

  queue::Record r;
  r.url = job.url;
  r.final_url = job.url;
  r.status = 200;
  r.title = parsed.title;
  r.images = parsed.images;
  r.links = parsed.found;
  r.links_dropped = parsed.links_dropped;
  r.images_dropped = parsed.images_dropped;
  r.parse_cut = parsed.parse_cut;
  const std::uint64_t images = r.images.size() + r.images_dropped;
  queue::fit(r);
  const std::string json = queue::to_json(r);
  FUZZ_CHECK(json.size() <= queue::k_max_record_bytes);
  const auto back = queue::record_from_json(json);
  FUZZ_CHECK(back && back->images.size() + back->images_dropped == images);
  return 0;
}
