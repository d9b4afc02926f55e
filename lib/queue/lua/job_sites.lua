-- job_sites.lua: how a job's sites stand, for status. Read-only, and sent without the prelude
-- (it is short, and sent whole in a pipeline).
-- ARGV: [1] prefix, [2] job.
-- Returns {sites with queued entries, of them due now, scheduled (due now or later), waiting
--   for a slot, found backing off}.
local P, job = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCARD', P .. ':sites:' .. job), redis.call('ZCOUNT', P .. ':sched:' .. job, '-inf', now),
        redis.call('ZCARD', P .. ':sched:' .. job), redis.call('SCARD', P .. ':blocked:' .. job),
        redis.call('SCARD', P .. ':backoff:' .. job)}
