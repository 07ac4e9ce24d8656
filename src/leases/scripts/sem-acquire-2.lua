-- sem-acquire-2: take one of `limit` slots; expired holders are reaped first, atomically.
-- KEYS[1] ZSET member=token score=expiry (server ms), KEYS[2] fence counter.
-- ARGV[1] limit, ARGV[2] ttl ms. Returns the token, or false when full.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), token)
return token
