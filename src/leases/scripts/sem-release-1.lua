--[[ sem-release-1: give a slot back. KEYS[1] ZSET. ARGV[1] member "token:owner". Output: 1 or 0. ]]
return redis.call('ZREM', KEYS[1], ARGV[1])
