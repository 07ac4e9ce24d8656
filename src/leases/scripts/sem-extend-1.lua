--[[ sem-extend-1: renew a slot only if it is still held (not reaped).
  KEYS[1] ZSET. ARGV[1] member "token:owner", ARGV[2] ttl ms. Output: 1 or 0. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1
