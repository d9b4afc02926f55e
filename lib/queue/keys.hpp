#pragma once
// Every Redis key the crawler uses, under one prefix. The Lua scripts (lua/prelude.lua) build
// the same names from the prefix; docs/redis-data-model.md lists them all. A site is the
// "scheme://host[:port]" of its URLs (url::origin).

#include <string>
#include <string_view>

namespace crawl::queue {

struct Keys {
  std::string prefix = "crawl";

  // Jobs.
  std::string job_seq() const { return prefix + ":job:seq"; }  // INCR for job ids
  std::string jobs() const { return prefix + ":jobs"; }        // ZSET job id -> created ms
  std::string job(std::string_view id) const { return prefix + ":job:" + std::string(id); }
  std::string stats(std::string_view id) const { return job(id) + ":stats"; }
  // STREAM of the job's records until they are drained home (queue/records.hpp)
  std::string records(std::string_view id) const { return job(id) + ":records"; }
  // HASH url -> record: where jobs of earlier versions kept their records (read, never written)
  std::string results(std::string_view id) const { return job(id) + ":results"; }
  std::string seeds(std::string_view id) const { return job(id) + ":seeds"; }  // SET of hosts
  std::string seen_prefix(std::string_view id) const { return job(id) + ":seen:"; }
  std::string rate(std::string_view id) const {
    return job(id) + ":rate";
  }  // HASH: pages/second ring
  // STRING with a TTL, refreshed by each batch of a submit in progress
  std::string submitter(std::string_view id) const { return job(id) + ":submitter"; }

  // The frontier, partitioned by site.
  std::string queue(std::string_view job, std::string_view site) const {  // LIST of entries
    return prefix + ":q:" + std::string(job) + ":" + std::string(site);
  }
  std::string sites(std::string_view job) const {
    return prefix + ":sites:" + std::string(job);
  }  // ZSET site -> queued
  std::string schedule(std::string_view job) const {
    return prefix + ":sched:" + std::string(job);
  }  // ZSET site -> due ms
  std::string blocked(std::string_view job) const {
    return prefix + ":blocked:" + std::string(job);
  }  // SET of sites
  std::string backoff(std::string_view job) const {
    return prefix + ":backoff:" + std::string(job);
  }                                                    // SET of sites
  std::string due() const { return prefix + ":due"; }  // ZSET job -> earliest due ms
  std::string loading() const {
    return prefix + ":loading";
  }  // SET of jobs loading their first seeds
  std::string delayed() const { return prefix + ":delayed"; }         // ZSET entry -> not-before ms
  std::string dead_letter() const { return prefix + ":deadletter"; }  // LIST of bad entries
  std::string dead_letters() const { return prefix + ":deadletters"; }  // STRING count
  std::string wake() const { return prefix + ":wake"; }                 // LIST of wake-up tokens
  std::string inflight(std::string_view id) const {
    return prefix + ":inflight:" + std::string(id);
  }

  // Sites.
  std::string site(std::string_view site) const {
    return prefix + ":site:" + std::string(site);
  }  // HASH
  std::string robots(std::string_view origin) const {
    return prefix + ":robots:" + std::string(origin);
  }
  std::string robots_lock(std::string_view origin) const { return robots(origin) + ":lock"; }

  // The fleet.
  std::string workers() const { return prefix + ":workers"; }            // SET of worker ids
  std::string dead_workers() const { return prefix + ":workers:dead"; }  // ZSET id -> death ms
  // A worker's heartbeat and alive keys are prefix + k_worker + id (+ k_alive): Fleet writes them
  // in place, 20,000 at a time, from these parts.
  static constexpr std::string_view k_worker = ":worker:", k_alive = ":alive";
  std::string worker(std::string_view id) const {
    return prefix + std::string(k_worker) + std::string(id);
  }
  std::string alive(std::string_view id) const { return worker(id) + std::string(k_alive); }
  std::string reaper() const { return prefix + ":reaper"; }
};

}  // namespace crawl::queue
