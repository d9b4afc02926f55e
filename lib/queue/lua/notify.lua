-- notify.lua: a job's notification of one event (finished, cancelled, stalled), sent once
-- whichever of the `crawlctl serve` processes sends it. A sender claims it for a while (its
-- lease: a sender that died mid-send is replaced once it lapses), then marks it sent, or given
-- up after its retries.
-- Reads and writes: P:job:{J} fields notified:<event> (ms it was sent, or "failed <ms>") and
-- notify_claim:<event> ("<owner> <until ms>").
-- ARGV: [1] prefix, [2] job, [3] event, [4] claim | sent | failed, [5] owner, [6] lease ms.
-- Returns 1 when done as asked (claim: the caller holds the claim now), else 0.
local job, event, action, owner = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local base = P .. ':job:' .. job
if wrong_type(base, 'hash') or redis.call('EXISTS', base) == 0 then return 0 end
time_now()
local done_field, claim_field = 'notified:' .. event, 'notify_claim:' .. event
if redis.call('HEXISTS', base, done_field) == 1 then return 0 end
local claim = redis.call('HGET', base, claim_field)
local holder, until_ms = nil, 0
if claim then
  holder, until_ms = string.match(claim, '^(%S+) (%d+)$')
  until_ms = tonumber(until_ms) or 0
end
if action == 'claim' then
  if holder and holder ~= owner and until_ms > now then return 0 end
  redis.call('HSET', base, claim_field, owner .. ' ' .. string.format('%.0f', now + tonumber(ARGV[6])))
  return 1
end
if holder ~= owner then return 0 end  -- the claim lapsed and another sender took it
redis.call('HDEL', base, claim_field)
redis.call('HSET', base, done_field, action == 'sent' and string.format('%.0f', now)
                                      or ('failed ' .. string.format('%.0f', now)))
return 1
