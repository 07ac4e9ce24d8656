--[[ acquire-2: take an exclusive lease with a fencing token.
  KEYS[1] lease key (value "token:owner"), KEYS[2] fence counter. ARGV[1] ttl ms, ARGV[2] owner.
  Output: the new token, or false when the lease is held.
  The fence counter starts at the server time in µs so tokens still increase after a
  Redis restart without persistence; %d because Lua's tostring prints 1.7e15 as "1.7e+15". ]]
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%d', token) .. ':' .. ARGV[2], 'PX', ARGV[1])
return token
