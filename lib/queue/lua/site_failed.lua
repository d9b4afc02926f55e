-- site_failed.lua: a site failed outside any page's outcome (its robots.txt could not be
-- fetched: a network failure, a timeout, a 5xx or 429), so it is backed off for every worker as
-- a page's failure would back it off (site_answer in the prelude).
-- ARGV: [1] prefix, [2] site, [3] reason, [4] back-off ms (its Retry-After; 0: exponential).
-- Writes P:site:{S}. Returns the ms until the site may be asked again.
time_now()
return site_answer(ARGV[2], '1', ARGV[4], ARGV[3])
