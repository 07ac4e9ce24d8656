--[[ sem-acquire-2: take one of `limit` slots; expired holders are reaped first, atomically.
  KEYS[1] ZSET member="token:owner" score=expiry (server ms), KEYS[2] fence counter.
  ARGV[1] limit, ARGV[2] ttl ms, ARGV[3] owner. Output: the token, or false when full. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return false end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
local token = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), string.format('%d', token) .. ':' .. ARGV[3])
return token
