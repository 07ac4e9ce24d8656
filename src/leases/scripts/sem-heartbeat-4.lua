--[[ sem-heartbeat-4: renew every slot one replica holds of one cap, in one round trip.
  KEYS[1] slots ZSET, KEYS[2] replicas ZSET, KEYS[3] waiting ZSET, KEYS[4] epoch.
  ARGV[1] ttl ms, ARGV[2] owner, ARGV[3..] tokens the caller believes it holds.
  Output: { live replicas, other replicas waiting, live slots, epoch, token still held... }.
  A token missing from the set was reaped or removed: the caller must not renew it blindly. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, owner = tonumber(ARGV[1]), ARGV[2]
local epoch = redis.call('GET', KEYS[4])
if not epoch then epoch = t[1] .. '.' .. t[2]; redis.call('SET', KEYS[4], epoch) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, owner)
local waiting = redis.call('ZCARD', KEYS[3])
if redis.call('ZSCORE', KEYS[3], owner) then waiting = waiting - 1 end
local out = { redis.call('ZCARD', KEYS[2]), waiting, 0, epoch }
for i = 3, #ARGV do
  local m = ARGV[i] .. ':' .. owner
  if redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], 'XX', now + ttl, m)
    out[#out + 1] = ARGV[i]
  end
end
out[3] = redis.call('ZCARD', KEYS[1])
return out
