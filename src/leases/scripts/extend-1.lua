-- extend-1: renew a lease only if the caller's token is still the current one.
-- KEYS[1] lease key. ARGV[1] "token:owner", ARGV[2] ttl ms. Returns 1 or 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
