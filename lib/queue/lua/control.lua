-- control.lua: pauses, resumes or cancels a job.
-- ARGV: [1] prefix, [2] job, [3] pause|resume|cancel, [4] n (entries a cancel may drop per call).
-- pause: no entry of the job is leased any more (its sites leave the due index; its queues stay
--   as they are). resume: its sites are due again. cancel: its queued entries are dropped, at
--   most n per call (call again while it says more are left; the delayed set is swept apart).
-- Returns {state, entries dropped, 1 if more are left to drop}; an error for no such job.
local job, action, n = ARGV[2], ARGV[3], tonumber(ARGV[4])
time_now()
local key = P .. ':job:' .. job
do
  local bad = wrong_type(key, 'hash')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
local s = redis.call('HGET', key, 'state')
if not s then return redis.error_reply('no job ' .. job) end
if action == 'pause' then
  if s == 'cancelled' then return {s, 0, 0} end
  redis.call('HSET', key, 'state', 'paused')
  redis.call('ZREM', P .. ':due', job)
  return {'paused', 0, 0}
elseif action == 'resume' then
  if s == 'cancelled' then return {s, 0, 0} end
  -- A job found broken is looked at again: fixed, it runs; not, it is flagged again at once.
  redis.call('HSET', key, 'state', 'running')
  redis.call('HDEL', key, 'broken')
  options[job], faults[job] = nil, nil
  if not job_fault(job) then
    -- Its sites that waited for a slot while it was broken were passed over when the slot came
    -- back: due again now (a claim blocks them again if the slots are still taken).
    for _, site in ipairs(redis.call('SMEMBERS', P .. ':blocked:' .. job)) do
      redis.call('SREM', P .. ':blocked:' .. job, site)
      schedule(job, site, now)
    end
  end
  due_again(job)
  woke = true
  flush()
  return {'running', 0, 0}
elseif action == 'cancel' then
  redis.call('HSET', key, 'state', 'cancelled')
  redis.call('ZREM', P .. ':due', job)
  local dropped = 0
  local sites = redis.call('ZRANGE', P .. ':sites:' .. job, 0, n - 1)
  for _, site in ipairs(sites) do
    if dropped >= n then break end
    local q = P .. ':q:' .. job .. ':' .. site
    local len = redis.call('LLEN', q)
    if len <= n - dropped then
      redis.call('DEL', q)
      redis.call('ZREM', P .. ':sites:' .. job, site)
      redis.call('ZREM', P .. ':sched:' .. job, site)
      redis.call('SREM', P .. ':blocked:' .. job, site)
      redis.call('SREM', P .. ':backoff:' .. job, site)
      redis.call('SREM', P .. ':site:' .. site .. ':waiting', job)
      dropped = dropped + len
    else
      local k = n - dropped
      redis.call('LTRIM', q, 0, len - k - 1)  -- the oldest k go
      redis.call('ZADD', P .. ':sites:' .. job, len - k, site)
      dropped = dropped + k
    end
  end
  local a = acc(job)
  bump(a, 'queued', -dropped)
  bump(a, 'cancelled', dropped)
  flush()
  local more = redis.call('EXISTS', P .. ':sites:' .. job)
  return {'cancelled', dropped, more}
end
return redis.error_reply('unknown action ' .. action)
