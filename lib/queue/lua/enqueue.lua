-- enqueue.lua: admits URLs into one job at one depth (the seeds of a submit, at depth 0).
-- ARGV: [1] prefix, [2] job, [3] depth, then triples (fingerprint as 8 bytes, url, drop reason
--   or ""), the URLs in normal form.
-- Each first sighting is queued on its site (and the site scheduled for the job), or recorded
-- as filtered with its reason; duplicates only count. For a job being submitted, refreshes its
-- submitter key (status flags a submit cut short by its lapse).
-- Returns {admitted, duplicates}.
local job, depth = ARGV[2], ARGV[3]
time_now()
local s = state_of(job)
if s == 'cancelled' or s == 'gone' then return {0, 0} end
if tonumber(redis.call('HGET', P .. ':job:' .. job, 'submitting') or 0) > 0 then
  redis.call('SET', P .. ':job:' .. job .. ':submitter', '1', 'PX', submitter_ttl_ms)
end
local a = budget(acc(job), job)
local head = job .. ' ' .. depth .. ' 0 '
local admitted, duplicates, queued, seen = 0, 0, 0, 0
for i = 4, #ARGV, 3 do
  local url, drop = ARGV[i + 1], ARGV[i + 2]
  local site = drop == '' and string.match(url, '^(https?://[^/?#]+)')
  if not site then
    local n = admit(job, depth, ARGV[i], url, drop)
    admitted = admitted + n
    duplicates = duplicates + (1 - n)
  elseif not first_sight(job, ARGV[i]) then
    seen = seen + 1
  elseif a.max > 0 and a.used >= a.max then
    bump(a, 'dropped:max_pages', 1)
  else
    a.used = a.used + 1
    queued = queued + 1
    push(job, site, head .. url, false)
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
