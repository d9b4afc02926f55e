-- load.lua: writes one batch of a new job's first seeds, whole. The job was created `loading` by
-- the submit that runs this: no worker leases from it and no other submit adds to it until the
-- load ends (end_submit) or its loader is gone (its submitter key lapsed), so nothing but this
-- load reads or writes its seen set meanwhile. The client deduplicated the seeds itself (sorted by
-- fingerprint) and builds each dedup bucket of the batch whole: a bucket is in one batch only.
-- ARGV: [1] prefix, [2] job, [3] seeds done before this batch (the job's `loaded` must say so),
--   [4] seeds done with it, [5] B, then B pairs (bucket "xxxx", its 6-byte remainders), then S,
--   then per site: the site ("scheme://authority"), C, and its C entries "JOB 0 0 URL"; then
--   the seeds found duplicates, and those over the job's max_pages.
-- Writes P:job:{J}:seen:{xxxx}, P:q:{J}:{S}, P:sites:{J}, P:sched:{J}, P:job:{J}:stats (submitted,
--   budget_used, queued, duplicates, dropped:max_pages), P:job:{J} `loaded`, and refreshes
--   P:job:{J}:submitter.
-- Everything is checked before anything is written (a script is not rolled back).
-- Returns {queued, duplicates}; {-1, 0} when the job is no longer loading (cancelled, deleted, or
--   taken over by another submit after this one's key lapsed); {-2, 0} when the batch is not the
--   one the job's load is at (a second load of the same job would overwrite its buckets); in both
--   cases nothing was written.
local job = ARGV[2]
time_now()
local o = opts_of(job)
if o.state == 'cancelled' or o.state == 'gone' or not o.loading then return {-1, 0} end
local loaded = tonumber(redis.call('HGET', P .. ':job:' .. job, 'loaded') or 0)
if loaded ~= tonumber(ARGV[3]) or not tonumber(ARGV[4]) then return {-2, 0} end

local function count_at(i)
  local n = tonumber(ARGV[i])
  if not n or n < 0 or n ~= math.floor(n) then error('load: not a count at argument ' .. i) end
  return n
end
local b = count_at(5)
local i = 6 + 2 * b
for k = 6, i - 1, 2 do
  if not string.match(ARGV[k] or '', '^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]$') or #(ARGV[k + 1] or '') % 6 ~= 0 then
    error('load: not a dedup bucket at argument ' .. k)
  end
end
local sites_at, s = i + 1, count_at(i)
i = i + 1
-- Each entry is the job's, at depth 0, on its site: "JOB 0 0 " and the site, then the end or one
-- of / ? # (what follows, the client normalised; a claim dead-letters an entry it cannot read).
local find, byte = string.find, string.byte
for _ = 1, s do
  local site = ARGV[i]
  if not string.match(site or '', '^https?://[^/?#]+$') then error('load: not a site at argument ' .. i) end
  local first, last = i + 2, i + 1 + count_at(i + 1)
  local prefix = job .. ' 0 0 ' .. site
  local after = #prefix + 1
  for k = first, last do
    local e = ARGV[k]
    local c = e and byte(e, after)
    if not e or find(e, prefix, 1, true) ~= 1 or not (c == nil or c == 47 or c == 63 or c == 35) then
      error('load: argument ' .. k .. ' is not an entry of job ' .. job .. ' on ' .. site)
    end
  end
  i = last + 1
end
local duplicates, over = count_at(i), count_at(i + 1)
if i + 1 ~= #ARGV then error('load: ' .. #ARGV .. ' arguments, not ' .. (i + 1)) end

redis.call('SET', P .. ':job:' .. job .. ':submitter', '1', 'PX', submitter_ttl_ms)
redis.call('HSET', P .. ':job:' .. job, 'loaded', ARGV[4])
local seen = P .. ':job:' .. job .. ':seen:'
local kv = {}
for k = 6, 5 + 2 * b, 2 do
  kv[#kv + 1] = seen .. ARGV[k]
  kv[#kv + 1] = ARGV[k + 1]
  if #kv >= 1000 then
    redis.call('MSET', unpack(kv))
    kv = {}
  end
end
if #kv > 0 then redis.call('MSET', unpack(kv)) end

local queued, counts, sched = 0, {}, {}
i = sites_at
for _ = 1, s do
  local site, c = ARGV[i], tonumber(ARGV[i + 1])
  local first, last = i + 2, i + 1 + c
  local q = P .. ':q:' .. job .. ':' .. site
  local len = 0
  for j = first, last, 1000 do len = redis.call('LPUSH', q, unpack(ARGV, j, math.min(j + 999, last))) end
  if c > 0 then
    queued = queued + c
    local before = len - c
    if count_due(before, len) then
      counts[#counts + 1] = len
      counts[#counts + 1] = site
    end
    if before == 0 then  -- the site's first entries: it is due at once
      sched[#sched + 1] = now
      sched[#sched + 1] = site
    end
  end
  i = last + 1
end
for j = 1, #counts, 1000 do redis.call('ZADD', P .. ':sites:' .. job, unpack(counts, j, math.min(j + 999, #counts))) end
for j = 1, #sched, 1000 do
  redis.call('ZADD', P .. ':sched:' .. job, 'NX', unpack(sched, j, math.min(j + 999, #sched)))
end

local a = acc(job)
bump(a, 'submitted', queued)
bump(a, 'budget_used', queued)
bump(a, 'queued', queued)
bump(a, 'duplicates', duplicates)
bump(a, 'dropped:max_pages', over)
flush()
return {queued, duplicates}
