-- begin_submit.lua: a submit into an existing job begins.
-- ARGV: [1] prefix, [2] job, [3] submitter TTL (ms).
-- `submitting` counts one more, or is 1 when no submit is alive (the submitter key has lapsed:
-- whatever the count says is of submits cut short); seeds_version moves, so that workers read
-- the job's scope again; the submitter key is set.
-- A job still loading its first seeds (load.lua) takes none from another submit; if its loader
-- is gone (its submitter key lapsed), the job goes on with what was loaded and this submit adds
-- to it as to any job.
-- Returns 1; 0 for no such job; -1 for a cancelled one; -2 for one still loading.
local key = P .. ':job:' .. ARGV[2]
local state = redis.call('HGET', key, 'state')
if not state then return 0 end
if state == 'cancelled' then return -1 end
if redis.call('HEXISTS', key, 'loading') == 1 then
  if redis.call('EXISTS', key .. ':submitter') == 1 then return -2 end
  unload(ARGV[2])
end
if redis.call('EXISTS', key .. ':submitter') == 1 then
  redis.call('HINCRBY', key, 'submitting', 1)
else
  redis.call('HSET', key, 'submitting', 1)
end
redis.call('HINCRBY', key, 'seeds_version', 1)
redis.call('SET', key .. ':submitter', '1', 'PX', ARGV[3])
return 1
