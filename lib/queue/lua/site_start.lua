-- site_start.lua: a further request within a lease (a redirect to the same site): it may start
-- once the site's last request started the job's delay ago (or its Crawl-delay, up to the
-- job's max_crawl_delay, or its back-off); the lease's slot is already held.
-- ARGV: [1] prefix, [2] job, [3] site.
-- Returns 0 when it may start now (and marks the start), else the ms to wait.
local job, site = ARGV[2], ARGV[3]
time_now()
local o = opts_of(job)
local key = P .. ':site:' .. site
local f = redis.call('HMGET', key, 'last', 'backoff_until', 'crawl_delay')
local delay = site_delay(o, tonumber(f[3]))
local allowed = math.max((tonumber(f[1]) or 0) + delay, tonumber(f[2]) or 0)
if allowed > now then return math.ceil(allowed - now) end
redis.call('HSET', key, 'last', now)
redis.call('PEXPIRE', key, k_site_ttl)
return 0
