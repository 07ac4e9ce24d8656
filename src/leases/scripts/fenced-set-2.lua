-- fenced-set-2: perform a side effect (SET) only while the caller's lease token is current.
-- KEYS[1] lease key, KEYS[2] target key. ARGV[1] "token:owner", ARGV[2] value. Returns 1 or 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
