-- enqueue.lua: admits URLs into one job at one depth (the seeds of a submit, at depth 0).
-- ARGV: [1] prefix, [2] job, [3] depth, then triples (fingerprint as 8 bytes, entry "JOB DEPTH
--   0 URL" with the URL in normal form, drop reason or ""), best with a site's entries together:
--   each site's new entries go into its queue in one LPUSH.
-- Each first sighting is queued on its site (and the site scheduled for the job), or recorded
-- as filtered with its reason; duplicates only count. For a job being submitted, refreshes its
-- submitter key (status flags a submit cut short by its lapse).
-- Returns {admitted, duplicates}.
local job, depth = ARGV[2], ARGV[3]
time_now()
local s = state_of(job)
if s == 'cancelled' or s == 'gone' then return {0, 0} end
if s == 'broken' then return redis.error_reply('job ' .. job .. ' is broken: ' .. job_fault(job)) end
if tonumber(redis.call('HGET', P .. ':job:' .. job, 'submitting') or 0) > 0 then
  redis.call('SET', P .. ':job:' .. job .. ':submitter', '1', 'PX', submitter_ttl_ms)
end
local a = budget(acc(job), job)
local head = job .. ' ' .. depth .. ' 0 '
local fps = {}
for i = 4, #ARGV, 3 do fps[#fps + 1] = ARGV[i] end
prefetch_seen(job, fps)
local admitted, duplicates, queued, seen = 0, 0, 0, 0
local h, last_site = #head, nil
for i = 4, #ARGV, 3 do
  local e, drop = ARGV[i + 1], ARGV[i + 2]
  local site
  local ours = string.find(e, head, 1, true) == 1
  if ours and drop == '' and #ARGV[i] == 8 then
    -- The site is most often the last one's: checked without making a string.
    if last_site and string.find(e, last_site, h + 1, true) == h + 1 then
      local c = string.byte(e, h + #last_site + 1)
      if c == nil or c == 47 or c == 63 or c == 35 then site = last_site end  -- end, / ? #
    end
    if not site then
      site = string.match(e, '^(https?://[^/?#]+)', h + 1)
      last_site = site
    end
  end
  if not site then
    local n = admit(job, depth, ARGV[i], ours and string.sub(e, h + 1) or e, drop)
    admitted = admitted + n
    duplicates = duplicates + (1 - n)
  elseif not first_sight(job, ARGV[i]) then
    seen = seen + 1
  elseif a.max > 0 and a.used >= a.max then
    bump(a, 'dropped:max_pages', 1)
  else
    a.used = a.used + 1
    queued = queued + 1
    push(job, site, e, false)
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
