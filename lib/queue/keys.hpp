#pragma once
// Every Redis key the crawler uses, under one prefix. The Lua scripts (scripts.cpp) build the
// same names from the prefix; docs/redis-data-model.md lists them all.

#include <string>
#include <string_view>

namespace crawl::queue {

struct Keys {
  std::string prefix = "crawl";

  std::string frontier() const { return prefix + ":frontier"; }   // LIST of entries
  std::string delayed() const { return prefix + ":delayed"; }     // ZSET entry -> not-before ms
  std::string job_seq() const { return prefix + ":job:seq"; }     // INCR for job ids
  std::string jobs() const { return prefix + ":jobs"; }           // ZSET job id -> created ms
  std::string job(std::string_view id) const { return prefix + ":job:" + std::string(id); }
  std::string stats(std::string_view id) const { return job(id) + ":stats"; }
  std::string results(std::string_view id) const { return job(id) + ":results"; }
  std::string seeds(std::string_view id) const { return job(id) + ":seeds"; }  // SET of hosts
  // STRING with a TTL, refreshed by each batch of a submit in progress
  std::string submitter(std::string_view id) const { return job(id) + ":submitter"; }
  std::string seen_prefix(std::string_view id) const { return job(id) + ":seen:"; }
  std::string parked(std::string_view id) const { return job(id) + ":parked"; }  // LIST: paused
  std::string rate(std::string_view id) const { return job(id) + ":rate"; }  // HASH: pages/second ring
  std::string workers() const { return prefix + ":workers"; }     // SET of worker ids
  std::string dead_workers() const { return prefix + ":workers:dead"; }  // ZSET id -> death ms
  std::string worker(std::string_view id) const { return prefix + ":worker:" + std::string(id); }
  std::string alive(std::string_view id) const { return worker(id) + ":alive"; }
  std::string inflight(std::string_view id) const { return prefix + ":inflight:" + std::string(id); }
  std::string robots(std::string_view origin) const { return prefix + ":robots:" + std::string(origin); }
  std::string robots_lock(std::string_view origin) const { return robots(origin) + ":lock"; }
  std::string reaper() const { return prefix + ":reaper"; }
  std::string polite(std::string_view authority) const {
    return prefix + ":polite:" + std::string(authority);
  }
};

}  // namespace crawl::queue
