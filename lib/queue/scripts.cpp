#include "queue/scripts.hpp"

#include <string>

namespace crawl::queue::scripts {

namespace {

// Shared by the scripts that move entries: per-job counter deltas applied once at the end, and
// admission of URLs with exact dedup.
//
// Dedup: a job's seen set is 65,536 string buckets, chosen by the first 2 bytes of the 64-bit
// fingerprint, each the concatenation of the 6-byte remainders seen so far (about 12 bytes per
// URL at a million URLs, see docs/redis-data-model.md). Lua 5.1 has no 64-bit integers, so the
// fingerprint travels as 8 raw bytes.
constexpr std::string_view k_prelude = R"lua(
local P = ARGV[1]
local jobs = {}
local pushes = {}
local function job_of(e) return string.match(e, '^(%S+) ') end
local function stats_key(job) return P .. ':job:' .. job .. ':stats' end
local function acc(job)
  local a = jobs[job]
  if not a then
    a = {d = {}}
    jobs[job] = a
  end
  return a
end
local function bump(a, field, n) a.d[field] = (a.d[field] or 0) + n end
-- Buckets read in this call stay in a table and are written once, at the end (flush): a call
-- whose URLs share buckets reads and writes each of them once.
local hex = {}
for i = 0, 255 do hex[i] = string.format('%02x', i) end
local buckets, dirty = {}, {}
local function first_sight(job, fp)
  local b1, b2 = string.byte(fp, 1, 2)
  local key = P .. ':job:' .. job .. ':seen:' .. hex[b1] .. hex[b2]
  local rem = string.sub(fp, 3)
  local s = buckets[key]
  if s == nil then
    s = redis.call('GET', key) or ''
  end
  local i = string.find(s, rem, 1, true)
  while i do
    if (i - 1) % 6 == 0 then
      buckets[key] = s
      return false
    end
    i = string.find(s, rem, i + 1, true)
  end
  buckets[key] = s .. rem
  dirty[key] = true
  return true
end
local function flush()
  for key in pairs(dirty) do redis.call('SET', key, buckets[key]) end
  for i = 1, #pushes, 1000 do
    redis.call('LPUSH', P .. ':frontier', unpack(pushes, i, math.min(i + 999, #pushes)))
  end
  for job, a in pairs(jobs) do
    for field, n in pairs(a.d) do
      if n ~= 0 then redis.call('HINCRBY', stats_key(job), field, n) end
    end
  end
end
-- A job's state as this call first saw it: running, paused, cancelled, or gone (deleted).
local states = {}
local function state_of(job)
  local s = states[job]
  if s == nil then
    s = redis.call('HGET', P .. ':job:' .. job, 'state') or 'gone'
    states[job] = s
  end
  return s
end
-- An entry just taken out of the frontier, judged by its job's state: true if it may be
-- crawled; a paused job's entry is parked (still queued); a cancelled job's is dropped.
local function settle(e)
  local job = job_of(e)
  local s = state_of(job)
  if s == 'running' then return true end
  if s == 'paused' then
    redis.call('LPUSH', P .. ':job:' .. job .. ':parked', e)
  elseif s ~= 'gone' then
    local a = acc(job)
    bump(a, 'queued', -1)
    bump(a, 'cancelled', 1)
  end
  return false
end
-- The page budget (max_pages) counts URLs admitted to be fetched (the `budget_used` counter);
-- a link recorded as filtered at admission costs none of it. A URL filtered later (robots.txt,
-- a redirect off-site) keeps what it cost.
local function budget(a, job)
  if a.used == nil then
    local st = redis.call('HMGET', stats_key(job), 'budget_used', 'submitted')
    if st[1] then
      a.used = tonumber(st[1])
    else  -- a job from before the counter: count all it admitted, from now on in the counter
      a.used = tonumber(st[2] or 0)
      bump(a, 'budget_used', a.used)
    end
    a.max = tonumber(redis.call('HGET', P .. ':job:' .. job, 'max_pages') or 0)
  end
  return a
end
local function admit(job, depth, fp, url, drop)
  local s = state_of(job)
  if s == 'cancelled' or s == 'gone' then return 0 end
  local a = budget(acc(job), job)
  if not first_sight(job, fp) then
    bump(a, 'duplicates', 1)
    return 0
  end
  if a.max > 0 and a.used >= a.max then
    bump(a, 'dropped:max_pages', 1)
    return 0
  end
  bump(a, 'submitted', 1)
  if drop ~= '' then
    redis.call('HSET', P .. ':job:' .. job .. ':results', url,
               cjson.encode({url = url, outcome = 'filtered', reason = drop, depth = tonumber(depth)}))
    bump(a, 'filtered', 1)
    bump(a, 'filtered:' .. drop, 1)
  else
    a.used = a.used + 1
    bump(a, 'budget_used', 1)
    pushes[#pushes + 1] = job .. ' ' .. depth .. ' 0 ' .. url
    bump(a, 'queued', 1)
  end
  return 1
end
)lua";

// One job and one depth per call: the common case (seeds) runs a lean loop; URLs with a drop
// reason go through admit() like any other.
constexpr std::string_view k_enqueue = R"lua(
local job, depth = ARGV[2], ARGV[3]
local s = state_of(job)
if s == 'cancelled' or s == 'gone' then return {0, 0} end
-- A submit in progress says it is alive with every batch (status flags one cut short).
if tonumber(redis.call('HGET', P .. ':job:' .. job, 'submitting') or 0) > 0 then
  redis.call('SET', P .. ':job:' .. job .. ':submitter', '1', 'PX', submitter_ttl_ms)
end
local a = budget(acc(job), job)
local head = job .. ' ' .. depth .. ' 0 '
local admitted, duplicates, queued, seen = 0, 0, 0, 0
for i = 4, #ARGV, 3 do
  local drop = ARGV[i + 2]
  if drop ~= '' then
    local n = admit(job, depth, ARGV[i], ARGV[i + 1], drop)
    admitted = admitted + n
    duplicates = duplicates + (1 - n)
  elseif not first_sight(job, ARGV[i]) then
    seen = seen + 1
  elseif a.max > 0 and a.used >= a.max then
    bump(a, 'dropped:max_pages', 1)
  else
    a.used = a.used + 1
    queued = queued + 1
    pushes[#pushes + 1] = head .. ARGV[i + 1]
  end
end
admitted = admitted + queued
duplicates = duplicates + seen
bump(a, 'submitted', queued)
bump(a, 'budget_used', queued)
bump(a, 'queued', queued)
bump(a, 'duplicates', seen)
flush()
return {admitted, duplicates}
)lua";

constexpr std::string_view k_claim = R"lua(
local frontier = P .. ':frontier'
local inflight = P .. ':inflight:' .. ARGV[2]
local n, now = tonumber(ARGV[3]), ARGV[4]
local due = redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, n)
for _, e in ipairs(due) do
  redis.call('ZREM', P .. ':delayed', e)
  redis.call('RPUSH', frontier, e)
end
local out = {}
-- Entries of paused or cancelled jobs met on the way are settled; a call looks at most 64
-- times as many entries as it may lease, so a long paused frontier is worked off in steps.
local examined = 0
while #out < n and examined < 64 * n do
  local e = redis.call('RPOP', frontier)
  if not e then break end
  examined = examined + 1
  if settle(e) then
    redis.call('LPUSH', inflight, e)
    out[#out + 1] = e
    local a = acc(job_of(e))
    bump(a, 'queued', -1)
    bump(a, 'in_flight', 1)
  end
end
flush()
return out
)lua";

constexpr std::string_view k_complete = R"lua(
local inflight = P .. ':inflight:' .. ARGV[2]
local applied, admitted = 0, 0
local i = 3
while i <= #ARGV do
  local entry, kind, reason, url, record = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local bytes, retry_entry, not_before = tonumber(ARGV[i + 5]), ARGV[i + 6], ARGV[i + 7]
  local depth, links = ARGV[i + 8], tonumber(ARGV[i + 9])
  local first_link = i + 10
  i = first_link + 3 * links
  if redis.call('LREM', inflight, 1, entry) == 1 then
    applied = applied + 1
    local job = job_of(entry)
    local s = state_of(job)
    if s == 'gone' then
      -- The job was deleted: nothing left to count or record.
      kind, links = 'gone', 0
    elseif s == 'cancelled' and (kind == 'retry' or kind == 'release' or kind == 'defer') then
      kind = 'cancel'
    end
    local a = kind ~= 'gone' and acc(job)
    if a then bump(a, 'in_flight', -1) end
    if kind == 'gone' then
      -- nothing
    elseif kind == 'cancel' then
      bump(a, 'cancelled', 1)
    elseif kind == 'retry' then
      redis.call('ZADD', P .. ':delayed', not_before, retry_entry)
      bump(a, 'queued', 1)
      bump(a, 'retries', 1)
    elseif kind == 'release' then
      redis.call('RPUSH', P .. ':frontier', entry)
      bump(a, 'queued', 1)
    elseif kind == 'defer' then
      redis.call('ZADD', P .. ':delayed', not_before, retry_entry)
      bump(a, 'queued', 1)
    else
      redis.call('HSET', P .. ':job:' .. job .. ':results', url, record)
      bump(a, kind, 1)
      if reason ~= '' then bump(a, kind .. ':' .. reason, 1) end
      if bytes > 0 then bump(a, 'bytes', bytes) end
      a.pages = (a.pages or 0) + 1
    end
    for k = first_link, first_link + 3 * (links - 1), 3 do
      admitted = admitted + admit(job, depth, ARGV[k], ARGV[k + 1], ARGV[k + 2])
    end
  end
end
-- Pages recorded per second, in a ring of 64 one-second slots per job (status reads the last
-- minute from it): slot k holds the second it counts (tk) and the count (ck); `pages` counts
-- them all, `last_ms` is when the last was recorded.
local t = redis.call('TIME')
local now = tonumber(t[1])
local now_ms = string.format('%.0f', now * 1000 + math.floor(tonumber(t[2]) / 1000))
local slot = now % 64
for job, a in pairs(jobs) do
  if (a.pages or 0) > 0 then
    local key = P .. ':job:' .. job .. ':rate'
    if tonumber(redis.call('HGET', key, 't' .. slot)) == now then
      redis.call('HINCRBY', key, 'c' .. slot, a.pages)
    else
      redis.call('HSET', key, 't' .. slot, now, 'c' .. slot, a.pages)
    end
    redis.call('HINCRBY', key, 'pages', a.pages)
    redis.call('HSET', key, 'last_ms', now_ms)
  end
end
flush()
return {applied, admitted}
)lua";

constexpr std::string_view k_reap = R"lua(
local w = ARGV[2]
if ARGV[3] ~= '1' and redis.call('EXISTS', P .. ':worker:' .. w .. ':alive') == 1 then
  return -1
end
local inflight = P .. ':inflight:' .. w
local entries = redis.call('LRANGE', inflight, 0, -1)
for _, e in ipairs(entries) do
  redis.call('RPUSH', P .. ':frontier', e)
  local a = acc(job_of(e))
  bump(a, 'queued', 1)
  bump(a, 'in_flight', -1)
end
redis.call('DEL', inflight)
if ARGV[3] ~= '1' then
  -- Unregistered, but remembered as dead (with its last heartbeat) until it comes back under
  -- the same id or an operator forgets it: status must show a worker that died.
  local t = redis.call('TIME')
  local ms = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('SREM', P .. ':workers', w)
  if redis.call('EXISTS', P .. ':worker:' .. w) == 1 then
    redis.call('HSET', P .. ':worker:' .. w, 'state', 'dead', 'died_ms', ms, 'in_flight', 0)
    redis.call('ZADD', P .. ':workers:dead', ms, w)
  end
end
flush()
return #entries
)lua";

// Job control: ARGV = prefix, job, action (pause, resume, cancel), n. Returns {state, n moved}:
// resume moves up to n parked entries back to the frontier (call again until it returns 0);
// cancel drops the parked ones. The frontier's other entries of the job are settled by sweep
// and, lazily, by claim.
constexpr std::string_view k_control = R"lua(
local job, action, n = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. ':job:' .. job
local parked = key .. ':parked'
local s = redis.call('HGET', key, 'state')
if not s then return redis.error_reply('no job ' .. job) end
if s == 'cancelled' then return {s, 0} end
if action == 'pause' then
  redis.call('HSET', key, 'state', 'paused')
  return {'paused', 0}
elseif action == 'resume' then
  redis.call('HSET', key, 'state', 'running')
  local moved = 0
  while moved < n do
    if not redis.call('LMOVE', parked, P .. ':frontier', 'RIGHT', 'LEFT') then break end
    moved = moved + 1
  end
  return {'running', moved}
elseif action == 'cancel' then
  redis.call('HSET', key, 'state', 'cancelled')
  local dropped = redis.call('LLEN', parked)
  redis.call('DEL', parked)
  local a = acc(job)
  bump(a, 'queued', -dropped)
  bump(a, 'cancelled', dropped)
  flush()
  return {'cancelled', dropped}
end
return redis.error_reply('unknown action ' .. action)
)lua";

// Settles up to n frontier entries (from the claim end, back to the far end in the same order,
// so a sweep over the whole list keeps its order) and looks at up to n delayed entries from
// rank ARGV[3]. Returns {examined, removed, next delayed rank or -1 when done}.
constexpr std::string_view k_sweep = R"lua(
local n, rank = tonumber(ARGV[2]), tonumber(ARGV[3])
local frontier = P .. ':frontier'
local examined, removed, keep = 0, 0, {}
for i = 1, n do
  local e = redis.call('RPOP', frontier)
  if not e then break end
  examined = examined + 1
  if settle(e) then keep[#keep + 1] = e else removed = removed + 1 end
end
for i = 1, #keep, 1000 do
  redis.call('LPUSH', frontier, unpack(keep, i, math.min(i + 999, #keep)))
end
if rank >= 0 then
  local delayed = redis.call('ZRANGE', P .. ':delayed', rank, rank + n - 1)
  local gone = 0
  for _, e in ipairs(delayed) do
    local job = job_of(e)
    local s = state_of(job)
    if s == 'cancelled' or s == 'gone' then
      redis.call('ZREM', P .. ':delayed', e)
      gone = gone + 1
      if s == 'cancelled' then
        local a = acc(job)
        bump(a, 'queued', -1)
        bump(a, 'cancelled', 1)
      end
    end
  end
  removed = removed + gone
  rank = #delayed < n and -1 or rank + #delayed - gone
end
flush()
return {examined, removed, rank}
)lua";

// ARGV: prefix, job, submitter TTL (ms). A submit into an existing job begins: it counts one
// more in `submitting`, or, when no submit is alive (the submitter key has lapsed: whatever
// the count says is of submits cut short), it is the one. seeds_version moves, so that workers
// read the job's scope again. Returns 1, 0 for no such job, -1 for a cancelled one.
constexpr std::string_view k_begin_submit = R"lua(
local key = P .. ':job:' .. ARGV[2]
local state = redis.call('HGET', key, 'state')
if not state then return 0 end
if state == 'cancelled' then return -1 end
if redis.call('EXISTS', key .. ':submitter') == 1 then
  redis.call('HINCRBY', key, 'submitting', 1)
else
  redis.call('HSET', key, 'submitting', 1)
end
redis.call('HINCRBY', key, 'seeds_version', 1)
redis.call('SET', key .. ':submitter', '1', 'PX', ARGV[3])
return 1
)lua";

// ARGV: prefix, job. One submit into the job has ended: the count goes down, and the mark and
// the submitter key go with the last one.
constexpr std::string_view k_end_submit = R"lua(
local key = P .. ':job:' .. ARGV[2]
local left = redis.call('HINCRBY', key, 'submitting', -1)
if left <= 0 then
  redis.call('HDEL', key, 'submitting')
  redis.call('DEL', key .. ':submitter')
end
return left
)lua";

constexpr std::string_view k_reserve = R"lua(
local key = P .. ':polite:' .. ARGV[2]
local now, delay = tonumber(ARGV[3]), tonumber(ARGV[4])
local slot = math.max(now, tonumber(redis.call('GET', key) or 0))
redis.call('SET', key, string.format('%.0f', slot + delay), 'PX', delay + 60000)
return string.format('%.0f', slot)
)lua";

const std::string k_enqueue_full = std::string(k_prelude) + "local submitter_ttl_ms = " +
                                   std::to_string(k_submitter_ttl_ms) + "\n" + std::string(k_enqueue);
const std::string k_claim_full = std::string(k_prelude) + std::string(k_claim);
const std::string k_complete_full = std::string(k_prelude) + std::string(k_complete);
const std::string k_reap_full = std::string(k_prelude) + std::string(k_reap);
const std::string k_reserve_full = std::string(k_prelude) + std::string(k_reserve);
const std::string k_control_full = std::string(k_prelude) + std::string(k_control);
const std::string k_sweep_full = std::string(k_prelude) + std::string(k_sweep);
const std::string k_end_submit_full = std::string(k_prelude) + std::string(k_end_submit);
const std::string k_begin_submit_full = std::string(k_prelude) + std::string(k_begin_submit);

}  // namespace

const std::string_view enqueue = k_enqueue_full;
const std::string_view claim = k_claim_full;
const std::string_view complete = k_complete_full;
const std::string_view reap = k_reap_full;
const std::string_view reserve = k_reserve_full;
const std::string_view control = k_control_full;
const std::string_view sweep = k_sweep_full;
const std::string_view end_submit = k_end_submit_full;
const std::string_view begin_submit = k_begin_submit_full;

}  // namespace crawl::queue::scripts
