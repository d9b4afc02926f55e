-- loading.lua: jobs whose loader is gone go on with what was loaded. Run with the fleet's reaper.
-- ARGV: [1] prefix.
-- Reads P:loading and, for each job in it, P:job:{J} and P:job:{J}:submitter; a job whose
-- submitter key has lapsed (its submit was cut short: status flags it) is leased from again, a
-- job no longer loading leaves the set.
-- Returns the jobs released.
local released = 0
for _, job in ipairs(redis.call('SMEMBERS', P .. ':loading')) do
  if redis.call('HEXISTS', P .. ':job:' .. job, 'loading') == 0 then
    redis.call('SREM', P .. ':loading', job)
  elseif redis.call('EXISTS', P .. ':job:' .. job .. ':submitter') == 0 then
    unload(job)
    released = released + 1
  end
end
return released
