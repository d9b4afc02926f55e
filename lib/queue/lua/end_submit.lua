-- end_submit.lua: a submit into a job has ended.
-- ARGV: [1] prefix, [2] job.
-- `submitting` counts one less; the last submit to end removes it and the submitter key.
-- A job that was loading its first seeds (load.lua) is leased from from now on.
-- Returns the submits still going.
local key = P .. ':job:' .. ARGV[2]
local left = redis.call('HINCRBY', key, 'submitting', -1)
if left <= 0 then
  redis.call('HDEL', key, 'submitting')
  redis.call('DEL', key .. ':submitter')
end
if redis.call('HEXISTS', key, 'loading') == 1 then unload(ARGV[2]) end
return left
