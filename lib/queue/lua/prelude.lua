-- prelude.lua: what every script shares; prepended to each when it is embedded.
--
-- ARGV[1] is the key prefix P. Keys (docs/redis-data-model.md):
--   P:q:{J}:{S}          LIST   job J's queued entries on site S; new ones pushed left, leased from the right
--   P:sites:{J}          ZSET   site -> entries of J queued on it (present while there are any; set by
--                               claims and when a push makes the length a power of two)
--   P:sched:{J}          ZSET   site -> when J may next lease from it (ms, Redis's clock)
--   P:blocked:{J}        SET    sites of J waiting for a slot (their requests in flight are at the limit)
--   P:backoff:{J}        SET    sites of J found backing off by the last claim that looked at them
--   P:due                ZSET   job -> its earliest scheduled site's time (running jobs only, not loading)
--   P:loading            SET    jobs whose first seeds are being loaded whole (load.lua): not leased from
--   P:site:{S}           HASH   last (start of the last request, ms), busy (requests in flight), failures
--                               (site-level failures in a row), backoff_until, backoff_reason,
--                               crawl_delay (ms, from robots.txt), gone_until, gone_reason
--   P:site:{S}:waiting   SET    jobs blocked on S
--   P:delayed            ZSET   entries waiting to be retried -> not before (ms)
--   P:deadletter         LIST   entries that could not be read (newest first, at most 10,000)
--   P:deadletters        STRING how many ever were
--   P:wake               LIST   tokens that wake idle workers when work becomes ready
-- An entry is "JOB DEPTH ATTEMPT URL"; its site S is the URL's "scheme://authority".
--
-- Bad values: what Redis holds is read as untrusted (anyone who reaches it may write to it), and
-- one bad value breaks only what it belongs to. One rule for every script:
-- * The keys every claim needs (P:due, P:delayed, P:loading) are of their type or absent, or the
--   script fails before it changes anything, with an error that names the key.
-- * A job's keys are checked the first time a script looks at the job (job_fault), before it
--   changes anything of it: a key of the wrong type, or a counter the scripts move that is not
--   a whole number, makes the job broken: none of its entries is leased, its outcomes and
--   returned leases wait in P:delayed (counted as queued, as retries are), it leaves the due
--   index, and its hash says why (`broken`, shown by status, read by every later call until
--   resume clears it). A queue of the job of the wrong type, or a counter HINCRBY refuses, found
--   later in a call, breaks the job the same way. The rest of the call goes on.
-- * A site's hash or waiting set of the wrong type, or a bad field, holds back only that site.
-- * Wake-up tokens and dead letters are a convenience: a key of theirs of the wrong type stops
--   nothing (workers poll instead; a dead letter is dropped).
local P = ARGV[1]

-- What is wrong with `key` if it holds something other than a `want` (it may be absent).
local function wrong_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then return key .. ' holds a ' .. t .. ', not a ' .. want end
  return nil
end
do
  local bad = wrong_type(P .. ':due', 'zset') or wrong_type(P .. ':delayed', 'zset') or
              wrong_type(P .. ':loading', 'set')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
-- A write that may meet a bad value and must not stop the call: true if it was made.
local function try(...)
  local r = redis.pcall(...)
  return not (type(r) == 'table' and r.err), r
end
local now = 0  -- ms by Redis's clock; set by time_now()
local function time_now()
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return now
end

-- Per-job counter deltas, applied once by flush().
local jobs = {}
local function acc(job)
  local a = jobs[job]
  if not a then
    a = {d = {}}
    jobs[job] = a
  end
  return a
end
local function bump(a, field, n) a.d[field] = (a.d[field] or 0) + n end
local function stats_key(job) return P .. ':job:' .. job .. ':stats' end

-- An entry as it must be, or nil: the rule of queue::decode (lib/queue/entry.hpp) as far as a
-- pattern can check it: a job id (no leading zero), a depth and an attempt in range, and an
-- http(s) URL of at most 4,096 bytes of printable ASCII with no fragment, whose host has no
-- upper case (or is a bracketed IPv6 address), whose port (if any) is in range, and whose path
-- starts with '/'. Anything else (written by hand, a bug, a tampered Redis) goes to the
-- dead letters; the worker checks the rest of the normal form and sends back what fails it.
local function parse_entry(e)
  if type(e) ~= 'string' or #e > 4200 then return nil end
  local job, depth, attempt, url = string.match(e, '^([1-9]%d*) (%d+) (%d+) (https?://.+)$')
  if not job or #job > 18 or #depth > 6 or #attempt > 4 or #url > 4096 then return nil end
  if (#depth > 1 and string.byte(depth) == 48) or (#attempt > 1 and string.byte(attempt) == 48) then
    return nil
  end
  if string.find(url, '[^!-~]') or string.find(url, '#', 1, true) then return nil end
  -- The site: scheme and authority, which a path follows. A host in brackets (IPv6), or one
  -- without ':', '@' or brackets and with no upper case; then no port, or one in range.
  local site, authority = string.match(url, '^(https?://([^/?#]+))/')
  if not site then return nil end
  local host, port = string.match(authority, '^(%[[%x:%.]+%])(.*)$')
  if not host then host, port = string.match(authority, '^([^:@%[%]]+)(.*)$') end
  if not host or string.find(host, '%u') then return nil end
  if port ~= '' and port ~= ':0' and not string.match(port, '^:[1-9]%d?%d?%d?%d?$') then return nil end
  return job, tonumber(depth), tonumber(attempt), url, site
end

-- What makes a job broken (see above), or false; checked once per call. A broken job is taken
-- out of the due index and says why in its hash at once.
local k_moved_counters = {'queued', 'in_flight', 'submitted', 'budget_used'}
local faults = {}
local function job_fault(job)
  local f = faults[job]
  if f ~= nil then return f end
  local base = P .. ':job:' .. job
  local hash_bad = wrong_type(base, 'hash')
  -- Found broken by an earlier call (a queue of the wrong type, a counter HINCRBY refused):
  -- broken until resume clears it.
  local flagged = not hash_bad and redis.call('HGET', base, 'broken') or false
  f = hash_bad or wrong_type(base .. ':stats', 'hash') or wrong_type(base .. ':records', 'stream') or
      wrong_type(base .. ':rate', 'hash') or wrong_type(P .. ':sched:' .. job, 'zset') or
      wrong_type(P .. ':sites:' .. job, 'zset') or wrong_type(P .. ':blocked:' .. job, 'set') or
      wrong_type(P .. ':backoff:' .. job, 'set') or flagged
  if not f then
    local v = redis.call('HMGET', base .. ':stats', unpack(k_moved_counters))
    for i, name in ipairs(k_moved_counters) do
      if v[i] and not string.match(v[i], '^%-?%d+$') then
        f = 'counter ' .. name .. ' of ' .. base .. ':stats is not a whole number'
        break
      end
    end
  end
  faults[job] = f
  if f then
    redis.call('ZREM', P .. ':due', job)
    if f ~= flagged then try('HSET', base, 'broken', f) end
  end
  return f
end
-- A bad value met later in the call (a queue of the wrong type, a counter HINCRBY refused).
local options = {}
local function break_job(job, why)
  if not faults[job] then
    faults[job] = why
    redis.call('ZREM', P .. ':due', job)
    try('HSET', P .. ':job:' .. job, 'broken', why)
    if options[job] then options[job].state = 'broken' end
  end
end

-- A job's state (running, paused, cancelled; `gone` when its hash is not there, `broken` as above)
-- and the options the scripts read, read once per call (in `options`, above). Their fields and
-- defaults, k_job_fields and k_job_defaults, are prepended from policy/job_options.cpp's table:
-- o.delay_ms, o.host_concurrency, o.max_crawl_delay_ms, o.max_pages.
local function opts_of(job)
  local o = options[job]
  if not o then
    o = {state = 'broken', loading = false}
    if not job_fault(job) then
      local f = redis.call('HMGET', P .. ':job:' .. job, 'state', 'loading', unpack(k_job_fields))
      o.state, o.loading = f[1] or 'gone', f[2] ~= false
      for i, name in ipairs(k_job_fields) do o[name] = tonumber(f[i + 2]) end
    end
    for name, default in pairs(k_job_defaults) do
      if not o[name] then o[name] = default end
    end
    if o.host_concurrency < 1 then o.host_concurrency = 1 end
    options[job] = o
  end
  return o
end
-- The time a site's requests of a job are kept apart: the job's delay, or the site's
-- robots.txt Crawl-delay up to the job's max_crawl_delay, whichever is longer.
local function site_delay(o, crawl_delay)
  return math.max(o.delay_ms, math.min(crawl_delay or 0, o.max_crawl_delay_ms))
end
local function state_of(job) return opts_of(job).state end

-- A broken job's entry waits in P:delayed (counted as queued, as a retry is) and is looked at
-- again 10 s later.
local k_broken_wait = 10000
local function park(e) redis.call('ZADD', P .. ':delayed', string.format('%.0f', now + k_broken_wait), e) end

local dead = 0
local function dead_letter(e)
  if try('LPUSH', P .. ':deadletter', e) then try('LTRIM', P .. ':deadletter', 0, 9999) end
  try('INCR', P .. ':deadletters')
  dead = dead + 1
end
-- A wake-up token for idle workers, at most 16 waiting.
local function wake()
  local ok, len = try('LLEN', P .. ':wake')
  if ok and len < 16 then try('LPUSH', P .. ':wake', '1') end
end

-- The due index follows each job's schedule: touched jobs are set right in flush(), or at once
-- by due_again().
local touched = {}
local woke = false
local function due_again(job)
  touched[job] = nil
  if state_of(job) ~= 'running' or opts_of(job).loading then
    redis.call('ZREM', P .. ':due', job)
    return
  end
  local first = redis.call('ZRANGE', P .. ':sched:' .. job, 0, 0, 'WITHSCORES')
  if first[1] then
    redis.call('ZADD', P .. ':due', first[2], job)
  else
    redis.call('ZREM', P .. ':due', job)
  end
end

-- A job whose first seeds were being loaded (load.lua) is leased from now on: its load ended,
-- or its loader is gone (its submitter key lapsed) and it goes on with what was loaded.
local function unload(job)
  redis.call('HDEL', P .. ':job:' .. job, 'loading', 'loaded')
  redis.call('SREM', P .. ':loading', job)
  if options[job] then options[job].loading = false end
  due_again(job)
  wake()
end

-- Site S of job J may be leased from `at` on (unless it waits for a slot; a time already set
-- stays, so a site backing off is not made due early).
local function schedule(job, site, at)
  if redis.call('SISMEMBER', P .. ':blocked:' .. job, site) == 1 then return end
  redis.call('ZADD', P .. ':sched:' .. job, 'NX', at, site)
  touched[job] = true
  woke = true
end

-- An entry into its job's queue on its site: at the near end at once (an entry going back:
-- released, reaped, due for a retry), or at the far end by flush() (new ones: a site's new
-- entries of a call go in one LPUSH). The queue's length is the site's count.
local pending, pending_order = {}, {}
local function push(job, site, e, front)
  if front then
    local q = P .. ':q:' .. job .. ':' .. site
    local bad = faults[job] or wrong_type(q, 'list')
    if bad then
      break_job(job, bad)
      park(e)
      return
    end
    local len = redis.call('RPUSH', q, e)
    redis.call('ZADD', P .. ':sites:' .. job, len, site)
    if len == 1 then schedule(job, site, now) end
    return
  end
  local p = pending_order[#pending_order]
  if p and p.site == site and p.job == job then  -- the usual case: a call's links come by site
    p.n = p.n + 1
    p[p.n] = e
    return
  end
  local k = job .. ' ' .. site
  p = pending[k]
  if not p then
    p = {job = job, site = site, n = 0}
    pending[k] = p
    pending_order[#pending_order + 1] = p
  end
  p.n = p.n + 1
  p[p.n] = e
end
-- Whether a push that took a site's queue from `before` to `len` entries should set the site's
-- count (P:sites:<job>): when the length reaches a power of two, the first entries included.
-- Claims set it exactly; one ZADD per site and call would cost more than the pushes.
local function count_due(before, len)
  local pw = 1
  while pw * 2 <= len do pw = pw * 2 end
  return pw > before
end

local function push_pending()
  local counts = {}  -- job -> {len, site, len, site, ...} for one ZADD
  for _, p in ipairs(pending_order) do
    local q = P .. ':q:' .. p.job .. ':' .. p.site
    local bad = faults[p.job] or wrong_type(q, 'list')
    if bad then  -- the job is broken: what it admitted waits in P:delayed, counted as queued
      break_job(p.job, bad)
      for j = 1, p.n do park(p[j]) end
    else
      local len = 0
      for j = 1, p.n, 1000 do len = redis.call('LPUSH', q, unpack(p, j, math.min(j + 999, p.n))) end
      local before = len - p.n
      if count_due(before, len) then
        local c = counts[p.job]
        if not c then
          c = {}
          counts[p.job] = c
        end
        c[#c + 1] = len
        c[#c + 1] = p.site
      end
      if before == 0 then schedule(p.job, p.site, now) end
    end
  end
  for job, c in pairs(counts) do
    for j = 1, #c, 1000 do redis.call('ZADD', P .. ':sites:' .. job, unpack(c, j, math.min(j + 999, #c))) end
  end
  pending, pending_order = {}, {}
end

-- Sites are the unit of politeness: a lease takes one of a site's slots (busy), a finished
-- request gives it back, and whoever waited for it is scheduled again.
local k_site_ttl = 86400000  -- a site idle a day forgets its state
local function release_site(site)
  local key = P .. ':site:' .. site
  local ok, busy = try('HINCRBY', key, 'busy', -1)
  if not ok or busy < 0 then try('HSET', key, 'busy', 0) end  -- not a number: from none again
  local w = key .. ':waiting'
  local read, waiting = try('SMEMBERS', w)
  if read and #waiting > 0 then
    redis.call('DEL', w)
    for _, job in ipairs(waiting) do
      if not job_fault(job) and redis.call('SREM', P .. ':blocked:' .. job, site) == 1 and
         redis.call('ZSCORE', P .. ':sites:' .. job, site) then
        schedule(job, site, now)
      end
    end
  end
end

local k_backoff_base, k_backoff_cap, k_retry_after_cap = 1000, 600000, 3600000
local k_max_failures, k_gone_ms = 8, 3600000

-- What a site's answer says of the site, for every worker: a failure ("1": it could not be
-- reached, or asked to be left alone) backs it off, exponentially from 1 s up to 10 minutes, or
-- as its Retry-After says, up to an hour; 8 in a row and it is given up on for an hour. An answer
-- ("0") ends the run of failures. Returns the ms until the site may be asked again (0: now).
local function site_answer_of(site, outcome, backoff_ms, reason)
  local key = P .. ':site:' .. site
  if outcome == '1' then
    local failures = tonumber(redis.call('HINCRBY', key, 'failures', 1))
    local wait = tonumber(backoff_ms) or 0
    if wait <= 0 then wait = math.min(k_backoff_cap, k_backoff_base * 2 ^ (failures - 1)) end
    wait = math.min(wait, k_retry_after_cap)
    if now + wait > (tonumber(redis.call('HGET', key, 'backoff_until')) or 0) then
      redis.call('HSET', key, 'backoff_until', string.format('%.0f', now + wait), 'backoff_reason', reason)
    end
    if failures >= k_max_failures then
      redis.call('HSET', key, 'gone_until', string.format('%.0f', now + k_gone_ms), 'gone_reason', reason)
    end
    redis.call('PEXPIRE', key, k_site_ttl)
    return math.max(0, (tonumber(redis.call('HGET', key, 'backoff_until')) or 0) - now)
  elseif outcome == '0' and redis.call('HEXISTS', key, 'failures') == 1 then
    redis.call('HDEL', key, 'failures', 'gone_until', 'gone_reason')
  end
  return 0
end
-- The same, for a site whose hash may hold anything: one that cannot be read is not backed off.
local function site_answer(site, outcome, backoff_ms, reason)
  local ok, wait = pcall(site_answer_of, site, outcome, backoff_ms, reason)
  return ok and wait or 0
end

-- Dedup: a job's seen set is 65,536 string buckets, chosen by the first 2 bytes of the 64-bit
-- fingerprint, each the concatenation of the 6-byte remainders seen so far (about 12 bytes per
-- URL at a million URLs). Lua 5.1 has no 64-bit integers, so the fingerprint travels as 8 raw
-- bytes. Buckets read in a call are written once, by flush().
local hex = {}
for i = 0, 255 do hex[i] = string.format('%02x', i) end
local buckets, dirty = {}, {}
local seen_keys = {}  -- job -> bucket number -> its key: each name is made once a call
local function seen_key(job, fp)
  local b1, b2 = string.byte(fp, 1, 2)
  local names = seen_keys[job]
  if not names then
    names = {}
    seen_keys[job] = names
  end
  local n = b1 * 256 + b2
  local key = names[n]
  if not key then
    key = P .. ':job:' .. job .. ':seen:' .. hex[b1] .. hex[b2]
    names[n] = key
  end
  return key
end
-- Reads the buckets of these fingerprints (8-byte strings) not read yet in one MGET per 1,000.
local function prefetch_seen(job, fps)
  local keys, wanted = {}, {}
  for _, fp in ipairs(fps) do
    if #fp == 8 then
      local key = seen_key(job, fp)
      if buckets[key] == nil and not wanted[key] then
        wanted[key] = true
        keys[#keys + 1] = key
      end
    end
  end
  for j = 1, #keys, 1000 do
    local last = math.min(j + 999, #keys)
    local values = redis.call('MGET', unpack(keys, j, last))
    for k = j, last do buckets[keys[k]] = values[k - j + 1] or '' end
  end
end
local function first_sight(job, fp)
  local key = seen_key(job, fp)
  local rem = string.sub(fp, 3)
  local s = buckets[key]
  if s == nil then
    s = redis.call('MGET', key)[1] or ''  -- MGET: a key of another type reads as none
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

-- The page budget (max_pages) counts URLs admitted to be fetched (budget_used); a link recorded
-- as filtered at admission costs none of it.
local function budget(a, job)
  if a.used == nil then
    local st = redis.call('HMGET', stats_key(job), 'budget_used', 'submitted')
    if st[1] then
      a.used = tonumber(st[1])
    else  -- a job from before the counter: count all it admitted, from now on in the counter
      a.used = tonumber(st[2] or 0)
      bump(a, 'budget_used', a.used)
    end
    a.max = opts_of(job).max_pages
  end
  return a
end

-- Admits a URL into a job: a first sighting is queued on its site, or recorded as filtered with
-- `drop` as its reason. Returns 1 if admitted (queued or recorded), else 0.
local function admit(job, depth, fp, url, drop)
  local s = state_of(job)
  if s == 'cancelled' or s == 'gone' or s == 'broken' then return 0 end
  local a = budget(acc(job), job)
  if type(fp) ~= 'string' or #fp ~= 8 then  -- a caller's bug: counted, never guessed at
    bump(a, 'dropped:malformed', 1)
    return 0
  end
  if not first_sight(job, fp) then
    bump(a, 'duplicates', 1)
    return 0
  end
  if a.max > 0 and a.used >= a.max then
    bump(a, 'dropped:max_pages', 1)
    return 0
  end
  bump(a, 'submitted', 1)
  local site = drop == '' and string.match(url, '^(https?://[^/?#]+)')
  if drop ~= '' or not site then
    local reason = drop ~= '' and drop or 'malformed'
    -- Its record is written by the drainer (queue/records.cpp), as every record is, from these.
    redis.call('XADD', P .. ':job:' .. job .. ':records', '*', 'u', url, 'f', reason, 'd', depth,
               't', string.format('%.0f', now))
    bump(a, 'filtered', 1)
    bump(a, 'filtered:' .. reason, 1)
  else
    a.used = a.used + 1
    bump(a, 'budget_used', 1)
    push(job, site, job .. ' ' .. depth .. ' 0 ' .. url, false)
    bump(a, 'queued', 1)
  end
  return 1
end

-- Writes what the call gathered: new entries, dedup buckets, counters, the due index of the jobs touched, and
-- a wake-up for idle workers when new work became ready (at most 16 tokens wait).
local function flush()
  push_pending()
  local kv = {}
  for key in pairs(dirty) do
    kv[#kv + 1] = key
    kv[#kv + 1] = buckets[key]
  end
  for j = 1, #kv, 1000 do redis.call('MSET', unpack(kv, j, math.min(j + 999, #kv))) end
  dirty = {}
  for job, a in pairs(jobs) do
    for field, n in pairs(a.d) do
      if n ~= 0 and not try('HINCRBY', stats_key(job), field, n) then
        break_job(job, 'counter ' .. field .. ' of ' .. stats_key(job) .. ' is not a whole number')
      end
    end
  end
  for job in pairs(touched) do due_again(job) end
  if woke then wake() end
end
