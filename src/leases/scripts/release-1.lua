-- release-1: delete a lease only if the caller's token is still the current one.
-- KEYS[1] lease key. ARGV[1] "token:owner". Returns 1 or 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
