#pragma once
// What `crawlctl submit` does, apart from its flags and what it prints. Seeds are read from
// arguments and files: each line trimmed, blank lines and #comments skipped, a bad line (not a
// crawlable URL, a control character, credentials) counted and said with its place (file:line),
// the good ones normalised and fingerprinted. Then they go to Redis: a new job's loaded whole,
// or added to an existing job's, each acknowledged batch reported as it lands.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "queue/queue.hpp"

namespace crawl::queue {

// Seeds from arguments and lines. A million of them is common, so none is copied that need not
// be: lines stay in the file's buffer, and a URL already in normal form (most are) is used in
// place; only the others are stored normalised.
struct Seeds {
  std::vector<queue::LinkView> links;
  std::deque<std::string> normalised;  // URLs that needed normalising (stable addresses)
  std::set<std::string, std::less<>> authorities;
  std::size_t rejected = 0;
  std::vector<std::string> messages;  // the first bad lines, said in order once all are read

  // Another part's seeds after these. Its normalised URLs stay where they are: the deque that
  // holds them is moved whole (a string moved out of it would move a short one's characters).
  void append(Seeds&& other) {
    links.insert(links.end(), other.links.begin(), other.links.end());
    normalised_parts.push_back(std::move(other.normalised));
    authorities.merge(other.authorities);
    rejected += other.rejected;
    for (auto& m : other.messages)
      if (messages.size() < k_messages) messages.push_back(std::move(m));
  }
  static constexpr std::size_t k_messages = 20;
  std::deque<std::deque<std::string>> normalised_parts;  // other parts' normalised URLs
};

// One seed from `line`; `place` names it in a message ("urls.txt:12", "argument 2").
void add_seed(Seeds& seeds, std::string_view line, const std::function<std::string()>& place);

// Every line of `content` (a file called `name` in messages), read in parts on the machine's
// cores: a million lines take a second on one. The seeds are views into `content`.
void add_seed_text(Seeds& seeds, std::string_view content, const std::string& name);

// The whole of a seed file, or of stdin for "-"; a regular file is read at once, a pipe or a
// device as it comes.
Result<std::string> read_seed_input(const std::string& path);

// A new job's creation time is the submitter's clock.
struct SubmitRequest {
  std::string job;  // "" = create a job with `options` and `name`; else add to this one
  policy::JobOptions options;
  std::string name;
  Jobs::Progress progress;  // after each acknowledged batch
};

struct SubmitReport {
  std::string job;          // "" if no job was created or opened (then `admitted` says why)
  std::size_t acked = 0;    // seeds Redis acknowledged
  Admitted acked_admitted;  // and what became of them
  Result<Admitted> admitted = Admitted{};  // all of them; an error leaves the job incomplete
};

// Sorts the seeds by fingerprint (a new job's are then deduplicated here and each dedup bucket
// written once; an existing job's share dedup buckets within a round trip) and submits them.
SubmitReport submit(Queue& queue, Seeds& seeds, const SubmitRequest& request);

}  // namespace crawl::queue
