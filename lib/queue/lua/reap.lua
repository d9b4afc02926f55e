-- reap.lua: returns a dead worker's leases to their site queues.
-- ARGV: [1] prefix, [2] worker id, [3] force ("1": reap even a live worker, which restarts under
--   its old id and hands back what its earlier run held).
-- Each entry goes back to the front of its job's queue on its site, and the site's slot it held
-- is given back; one that cannot be read goes to the dead letters. A dead worker is unregistered
-- and listed in P:workers:dead (scored by the time it died), its last heartbeat kept, until it
-- comes back or is forgotten.
-- Returns the number of entries returned, or -1 if the worker is alive (and not forced).
local w = ARGV[2]
if ARGV[3] ~= '1' and redis.call('EXISTS', P .. ':worker:' .. w .. ':alive') == 1 then
  return -1
end
time_now()
local inflight = P .. ':inflight:' .. w
do
  local bad = wrong_type(inflight, 'list') or wrong_type(P .. ':workers', 'set') or
              wrong_type(P .. ':workers:dead', 'zset')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
local entries = redis.call('LRANGE', inflight, 0, -1)
local returned = 0
for _, e in ipairs(entries) do
  local job, _, _, _, site = parse_entry(e)
  if not job or state_of(job) == 'gone' then
    if site then release_site(site) end
    dead_letter(e)
  elseif state_of(job) == 'broken' then
    release_site(site)
    park(e)
    local a = acc(job)
    bump(a, 'in_flight', -1)
    bump(a, 'queued', 1)
  else
    release_site(site)
    local a = acc(job)
    bump(a, 'in_flight', -1)
    local s = state_of(job)
    if s == 'cancelled' then
      bump(a, 'cancelled', 1)
    elseif s ~= 'gone' then
      push(job, site, e, true)
      bump(a, 'queued', 1)
      returned = returned + 1
    end
  end
end
redis.call('DEL', inflight)
if ARGV[3] ~= '1' then
  local ms = string.format('%.0f', now)
  redis.call('SREM', P .. ':workers', w)
  -- Its last heartbeat stays as it was; being listed here is what makes it dead.
  if redis.call('EXISTS', P .. ':worker:' .. w) == 1 then
    redis.call('ZADD', P .. ':workers:dead', ms, w)
  end
end
flush()
return returned
