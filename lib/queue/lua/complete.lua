-- complete.lua: records how leased entries ended, in one call for a batch of pages.
-- ARGV: [1] prefix, [2] worker id, then per page 18 fields and its links:
--   entry, kind (done|failed|filtered|retry|requeue|release|defer|cancel), reason, url, record
--   (JSON), bytes, next entry (retry, requeue: the entry one attempt on; defer: as it is),
--   wait_ms (retry, defer: how long before it is due), link depth, site outcome ("1": a
--   site-level failure; "0": the site answered; "": not known), site back-off ms (a failure's
--   Retry-After; 0: exponential), links dropped and images dropped (over the page's caps), where
--   it moved (a redirect to another site, admitted at the page's own depth: fingerprint as 8
--   bytes, url, drop reason or ""; three empty fields for none), why the page was parsed only in
--   part ("size", "elements", "nesting", "memory"; "" when whole), link count, then per link
--   (fingerprint as 8 bytes, url, drop reason or "").
-- The site is the entry's: a lease holds a slot of its own site (a redirect to another site is
-- admitted as a link of its own, not followed).
-- For each page whose entry is still leased to this worker (others were reaped or already
-- recorded and are skipped whole, which makes a replay harmless): gives the site's slot back,
-- applies what the site's answer says (site_answer in the prelude), records the outcome and
-- admits the links (none into a cancelled job). Counts the job's pages per second.
-- Returns {pages applied, links admitted}.
local inflight = P .. ':inflight:' .. ARGV[2]
do
  local bad = wrong_type(inflight, 'list')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
time_now()
local applied, admitted = 0, 0
-- The dedup buckets of every link, read up front: one MGET per job and 1,000 buckets.
local fps_of = {}
local i = 3
while i + 17 <= #ARGV do
  local job = string.match(ARGV[i], '^(%d+) ')
  local links = tonumber(ARGV[i + 17]) or 0
  if job and state_of(job) ~= 'broken' then
    local fps = fps_of[job] or {}
    fps_of[job] = fps
    fps[#fps + 1] = ARGV[i + 13]
    for k = i + 18, i + 18 + 3 * (links - 1), 3 do fps[#fps + 1] = ARGV[k] end
  end
  i = i + 18 + 3 * links
end
for job, fps in pairs(fps_of) do
  if state_of(job) ~= 'gone' then prefetch_seen(job, fps) end
end
i = 3
while i <= #ARGV do
  local entry, kind, reason, url, record = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local bytes, next_entry, wait_ms = tonumber(ARGV[i + 5]), ARGV[i + 6], tonumber(ARGV[i + 7]) or 0
  local depth, site_outcome, site_backoff = ARGV[i + 8], ARGV[i + 9], ARGV[i + 10]
  local links_dropped, images_dropped = tonumber(ARGV[i + 11]) or 0, tonumber(ARGV[i + 12]) or 0
  local moved_fp, moved_url, moved_drop = ARGV[i + 13], ARGV[i + 14], ARGV[i + 15]
  local parse_cut = ARGV[i + 16]
  local links = tonumber(ARGV[i + 17]) or 0
  local first_link = i + 18
  i = first_link + 3 * links
  if redis.call('LREM', inflight, 1, entry) == 1 then
    applied = applied + 1
    local job, _, _, _, site = parse_entry(entry)
    if site then
      release_site(site)
      site_answer(site, site_outcome, site_backoff, reason)
    end
    local s = job and state_of(job) or 'gone'
    if s == 'gone' then
      -- The job was deleted (or the entry cannot be read): nothing left to count or record.
      kind, links = 'gone', 0
    elseif s == 'broken' then
      -- Its keys cannot be read as they must be: the entry waits until it is fixed, counted as
      -- queued (as far as its counters can be written).
      park(entry)
      local a = acc(job)
      bump(a, 'in_flight', -1)
      bump(a, 'queued', 1)
      kind, links = 'gone', 0
    elseif s == 'cancelled' and (kind == 'retry' or kind == 'requeue' or kind == 'release' or kind == 'defer') then
      kind = 'cancel'
    end
    local a = kind ~= 'gone' and acc(job)
    if a then bump(a, 'in_flight', -1) end
    if kind == 'gone' then
      -- nothing
    elseif kind == 'cancel' then
      bump(a, 'cancelled', 1)
    elseif kind == 'retry' or kind == 'defer' then
      redis.call('ZADD', P .. ':delayed', string.format('%.0f', now + wait_ms), next_entry)
      bump(a, 'queued', 1)
      if kind == 'retry' then bump(a, 'retries', 1) end
    elseif kind == 'requeue' or kind == 'release' then
      local e = kind == 'requeue' and next_entry or entry
      local ejob, _, _, _, esite = parse_entry(e)
      if ejob == job then push(job, esite, e, true) else dead_letter(e) end
      bump(a, 'queued', 1)
      if kind == 'requeue' then bump(a, 'retries', 1) end
    else
      redis.call('XADD', P .. ':job:' .. job .. ':records', '*', 'r', record)
      bump(a, kind, 1)
      if reason ~= '' then bump(a, kind .. ':' .. reason, 1) end
      if bytes > 0 then bump(a, 'bytes', bytes) end
      if links_dropped > 0 then bump(a, 'dropped:links', links_dropped) end
      if images_dropped > 0 then bump(a, 'dropped:images', images_dropped) end
      if parse_cut ~= '' then bump(a, 'cut:' .. parse_cut, 1) end
      a.pages = (a.pages or 0) + 1
    end
    if kind ~= 'gone' and kind ~= 'cancel' and moved_url ~= '' then
      admitted = admitted + admit(job, tonumber(depth) - 1, moved_fp, moved_url, moved_drop)
    end
    for k = first_link, first_link + 3 * (links - 1), 3 do
      admitted = admitted + admit(job, depth, ARGV[k], ARGV[k + 1], ARGV[k + 2])
    end
  end
end
-- Pages recorded per second, in a ring of 64 one-second slots per job (status reads the last
-- minute from it): slot k holds the second it counts (tk) and the count (ck); `pages` counts
-- them all, `last_ms` is when the last was recorded.
local second = math.floor(now / 1000)
local slot = second % 64
for job, a in pairs(jobs) do
  if (a.pages or 0) > 0 and not faults[job] then
    -- Of a broken job's ring only what can be written is (it is checked to be a hash).
    local key = P .. ':job:' .. job .. ':rate'
    if tonumber(redis.call('HGET', key, 't' .. slot)) ~= second or not try('HINCRBY', key, 'c' .. slot, a.pages) then
      redis.call('HSET', key, 't' .. slot, second, 'c' .. slot, a.pages)
    end
    if not try('HINCRBY', key, 'pages', a.pages) then redis.call('HSET', key, 'pages', a.pages) end
    redis.call('HSET', key, 'last_ms', string.format('%.0f', now))
  end
end
flush()
return {applied, admitted}
