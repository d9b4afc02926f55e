-- sweep.lua: drops the delayed entries of cancelled jobs, n at a time (those of deleted jobs,
-- and any that cannot be read, go to the dead letters).
-- ARGV: [1] prefix, [2] n, [3] rank to start from in P:delayed.
-- Returns {entries looked at, entries removed, next rank or -1 when the set was passed}.
local n, rank = tonumber(ARGV[2]), tonumber(ARGV[3])
local delayed = redis.call('ZRANGE', P .. ':delayed', rank, rank + n - 1)
local gone = 0
for _, e in ipairs(delayed) do
  local job = parse_entry(e)
  local s = job and state_of(job) or 'bad'
  if s == 'cancelled' or s == 'gone' or s == 'bad' then
    redis.call('ZREM', P .. ':delayed', e)
    gone = gone + 1
    if s == 'cancelled' then
      local a = acc(job)
      bump(a, 'queued', -1)
      bump(a, 'cancelled', 1)
    else  -- unreadable, or of no job there is
      dead_letter(e)
    end
  end
end
flush()
return {#delayed, gone, #delayed < n and -1 or rank + #delayed - gone}
