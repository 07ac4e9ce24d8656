-- acquire-2: take an exclusive lease with a fencing token.
-- KEYS[1] lease key (value = token), KEYS[2] fence counter. ARGV[1] ttl ms, ARGV[2] owner.
-- Returns the new token, or false when the lease is held.
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[2], 'PX', ARGV[1])
return token
