--[[ sem-take-5: take a slot of a provider cap shared fairly between replicas.
  KEYS[1] slots ZSET (member "token:owner", score expiry ms), KEYS[2] fence counter,
  KEYS[3] replicas ZSET (member owner, score expiry), KEYS[4] waiting ZSET (member owner, score expiry),
  KEYS[5] epoch (changes when Redis lost its data).
  ARGV[1] limit, ARGV[2] ttl ms, ARGV[3] owner, ARGV[4] '1' = force (re-establish an open connection:
  the cap still holds, fair share does not).
  Output: { token or 0, live replicas, other replicas waiting, live slots, epoch }.
  Rule: a free slot goes to the caller unless other replicas wait and the caller already holds its
  fair share ceil(limit / replicas): the free slot is left to them. A caller refused while under its
  share is marked waiting, which tells holders above their share to give back idle slots.
  Counting the caller's slots walks the set: O(limit), fine for provider caps (tens to hundreds). ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, ttl, owner = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local epoch = redis.call('GET', KEYS[5])
if not epoch then epoch = t[1] .. '.' .. t[2]; redis.call('SET', KEYS[5], epoch) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZADD', KEYS[3], now + ttl, owner)
local replicas = redis.call('ZCARD', KEYS[3])
local total = redis.call('ZCARD', KEYS[1])
local waiting = redis.call('ZCARD', KEYS[4])
local marked = redis.call('ZSCORE', KEYS[4], owner)
if marked then waiting = waiting - 1 end
local held = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local colon = string.find(m, ':', 1, true)
  if colon and string.sub(m, colon + 1) == owner then held = held + 1 end
end
local share = math.ceil(limit / replicas)
if total < limit and (ARGV[4] == '1' or waiting == 0 or held < share) then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  local token = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now + ttl, string.format('%d', token) .. ':' .. owner)
  -- Still under its share: stay marked, or the holder that just gave a slot back takes it again.
  if held + 1 >= share then redis.call('ZREM', KEYS[4], owner) elseif marked then redis.call('ZADD', KEYS[4], now + ttl, owner) end
  return { token, replicas, waiting, total + 1, epoch }
end
if ARGV[4] ~= '1' and held < share then redis.call('ZADD', KEYS[4], now + ttl, owner) end
return { 0, replicas, waiting, total, epoch }
