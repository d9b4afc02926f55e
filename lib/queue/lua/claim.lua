-- claim.lua: leases entries to a worker, only from sites that may be fetched now.
-- ARGV: [1] prefix, [2] worker id, [3] n (entries wanted).
-- Reads and writes: P:delayed (due retries go back to their site queues), P:due, P:sched:{J},
--   P:q:{J}:{S}, P:sites:{J}, P:blocked:{J}, P:backoff:{J}, P:site:{S}(:waiting), P:inflight:{W},
--   P:job:{J}(:stats, :records: its length only), P:deadletter(s).
-- Returns {entries, flags, next due ms (-1: nothing scheduled), entries dead-lettered, now ms}:
--   flags[i] is "" for an entry to fetch, or "gone:REASON" for one of a site given up on (too
--   many failures in a row), to be recorded as failed without a request.
-- Sites are taken earliest-due first, across jobs: every job progresses in proportion to its
-- sites that are ready. A site is leased when its requests in flight are under the job's
-- host_concurrency and its last request started at least delay ago (the job's delay, or the
-- site's Crawl-delay up to the job's max_crawl_delay, or its back-off, whichever is longest);
-- each lease takes a slot and sets the site's last start. O(log sites) a lease.
local inflight = P .. ':inflight:' .. ARGV[2]
local n = tonumber(ARGV[3])
do
  local bad = wrong_type(inflight, 'list')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
time_now()

-- Retries that are due go back to the front of their site queues.
local retries = redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, 4 * n)
for _, e in ipairs(retries) do
  redis.call('ZREM', P .. ':delayed', e)
  local job, _, _, _, site = parse_entry(e)
  if not job then
    dead_letter(e)
  else
    local s = state_of(job)
    if s == 'cancelled' then
      local a = acc(job)
      bump(a, 'queued', -1)
      bump(a, 'cancelled', 1)
    elseif s == 'gone' then
      dead_letter(e)  -- of no job there is: nothing to count it in
    elseif s == 'broken' then
      park(e)
    else
      push(job, site, e, true)
    end
  end
end

local out, flags = {}, {}

local function lease(e, job, site, flag, busy)
  redis.call('LPUSH', inflight, e)
  redis.call('HSET', P .. ':site:' .. site, 'busy', busy + 1)
  local a = acc(job)
  bump(a, 'queued', -1)
  bump(a, 'in_flight', 1)
  out[#out + 1] = e
  flags[#flags + 1] = flag
end

-- Where site S stands for job J once entries were taken from it.
local function settle(job, site, q, o, delay, busy)
  local left = redis.call('LLEN', q)
  if left == 0 then
    redis.call('ZREM', P .. ':sites:' .. job, site)
    redis.call('ZREM', P .. ':sched:' .. job, site)
    return
  end
  redis.call('ZADD', P .. ':sites:' .. job, left, site)
  if busy >= o.host_concurrency then
    redis.call('ZREM', P .. ':sched:' .. job, site)
    redis.call('SADD', P .. ':blocked:' .. job, site)
    redis.call('SADD', P .. ':site:' .. site .. ':waiting', job)
  else
    redis.call('ZADD', P .. ':sched:' .. job, now + delay, site)
  end
end

local function take(job, o, site)
  local key = P .. ':site:' .. site
  local q = P .. ':q:' .. job .. ':' .. site
  -- Checked before anything changes: the job's queue on the site, the site's keys.
  local bad = faults[job] or wrong_type(q, 'list')
  if bad then
    break_job(job, bad)
    redis.call('ZADD', P .. ':sched:' .. job, now + k_broken_wait, site)
    return
  end
  local read, f = try('HMGET', key, 'last', 'busy', 'backoff_until', 'crawl_delay', 'gone_until', 'gone_reason')
  if not read or wrong_type(key .. ':waiting', 'set') then  -- of another type: the site waits 10 s
    redis.call('ZADD', P .. ':sched:' .. job, now + k_broken_wait, site)
    return
  end
  local last, busy = tonumber(f[1]) or 0, tonumber(f[2]) or 0
  local backoff, crawl_delay, gone = tonumber(f[3]) or 0, tonumber(f[4]) or 0, tonumber(f[5]) or 0
  if gone > now then
    -- Given up on: its entries go out without a request, as many as the caller takes.
    local flag = 'gone:' .. (f[6] or 'unreachable')
    while #out < n do
      local e = redis.call('RPOP', q)
      if not e then break end
      local ejob, _, _, _, esite = parse_entry(e)
      if ejob == job and esite == site then
        lease(e, job, site, flag, busy)
        busy = busy + 1
      else
        dead_letter(e)
      end
    end
    settle(job, site, q, o, 0, 0)
    return
  end
  local delay = site_delay(o, crawl_delay)
  if busy >= o.host_concurrency then
    settle(job, site, q, o, delay, busy)
    return
  end
  local allowed = math.max(last + delay, backoff)
  if allowed > now then
    redis.call('ZADD', P .. ':sched:' .. job, allowed, site)
    if backoff > last + delay then redis.call('SADD', P .. ':backoff:' .. job, site) end
    return
  end
  redis.call('SREM', P .. ':backoff:' .. job, site)
  -- One entry, the oldest that can be read (up to 16 that cannot go to the dead letters).
  for _ = 1, 16 do
    local e = redis.call('RPOP', q)
    if not e then break end
    local ejob, _, _, _, esite = parse_entry(e)
    if ejob == job and esite == site then
      lease(e, job, site, '', busy)
      redis.call('HSET', key, 'last', now)
      redis.call('PEXPIRE', key, k_site_ttl)
      busy = busy + 1
      break
    end
    dead_letter(e)
  end
  settle(job, site, q, o, delay, busy)
end

-- The queues of a job that is not there (its hash deleted, or never written): what they hold
-- cannot be counted or crawled, so it goes to the dead letters, 64 entries a look.
local function drain_gone(job)
  local sched = P .. ':sched:' .. job
  local sd = redis.call('ZRANGE', sched, 0, 0)
  if sd[1] then
    local q = P .. ':q:' .. job .. ':' .. sd[1]
    local list = not wrong_type(q, 'list')  -- another type is left as it is, out of the schedule
    for _ = 1, list and 64 or 0 do
      local e = redis.call('RPOP', q)
      if not e then break end
      dead_letter(e)
    end
    if not list or redis.call('LLEN', q) == 0 then
      redis.call('ZREM', sched, sd[1])
      redis.call('ZREM', P .. ':sites:' .. job, sd[1])
    end
  end
  if redis.call('ZCARD', sched) > 0 then
    redis.call('ZADD', P .. ':due', now, job)
  else
    redis.call('ZREM', P .. ':due', job)
    redis.call('DEL', P .. ':sites:' .. job, P .. ':blocked:' .. job, P .. ':backoff:' .. job)
  end
end

-- Earliest-due site first, across jobs; a stale index entry is set right and looked at again.
local k_held_wait = 1000
local looked = 0
while #out < n and looked < 8 * n + 16 do
  looked = looked + 1
  local jd = redis.call('ZRANGEBYSCORE', P .. ':due', '-inf', now, 'LIMIT', 0, 1)
  if #jd == 0 then break end
  local job = jd[1]
  local o = opts_of(job)
  if o.state == 'gone' then
    drain_gone(job)
  elseif o.state == 'running' and not o.loading and o.records_backlog > 0 and
         redis.call('XLEN', P .. ':job:' .. job .. ':records') >= o.records_backlog then
    -- Its records wait to be drained home (records_backlog): its claims wait, a second at a time.
    redis.call('ZADD', P .. ':due', now + k_held_wait, job)
    touched[job] = nil
  else
    if o.state == 'running' and not o.loading then
      local sd = redis.call('ZRANGEBYSCORE', P .. ':sched:' .. job, '-inf', now, 'LIMIT', 0, 1)
      if sd[1] then take(job, o, sd[1]) end
    end
    due_again(job)
  end
end

flush()
local first = redis.call('ZRANGE', P .. ':due', 0, 0, 'WITHSCORES')
return {out, flags, first[2] and tonumber(first[2]) or -1, dead, now}
