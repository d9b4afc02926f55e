-- refuse.lua: entries a claim leased that the worker cannot read (queue::decode checks the whole
-- normal form; a claim's pattern only part of it): out of the worker's in-flight list, their
-- site's slot given back, the claim's count undone (an entry not in the normal form was never
-- admitted by us, so never counted), into the dead letters.
-- ARGV: [1] prefix, [2] worker id, then the entries as they were leased.
-- Returns the number moved to the dead letters.
local inflight = P .. ':inflight:' .. ARGV[2]
do
  local bad = wrong_type(inflight, 'list')
  if bad then return redis.error_reply('WRONGTYPE ' .. bad) end
end
time_now()
for i = 3, #ARGV do
  local e = ARGV[i]
  if redis.call('LREM', inflight, 1, e) == 1 then
    local job, _, _, _, site = parse_entry(e)
    if site then release_site(site) end
    if job and state_of(job) ~= 'gone' then
      local a = acc(job)
      bump(a, 'in_flight', -1)
      bump(a, 'queued', 1)
    end
    dead_letter(e)
  end
end
flush()
return dead
