--[[ tenant-admit: admit one call of a tenant against its limits, all replicas together, atomically.
  KEYS[1] limits hash (field tenant → JSON limits, written on boot/reload/admin: the run-time truth),
  KEYS[2] the tenant's token bucket hash {tokens, at}, KEYS[3] fence counter,
  KEYS[4..] every tenant's calls ZSET (member "token:owner", score expiry ms), the caller's first.
  ARGV[1] JSON list of tenant names in KEYS[4..] order, ARGV[2] JSON {upstream: cap} of capped upstreams,
  ARGV[3] JSON {tenant: limits} from this replica's config (used when the hash has no entry),
  ARGV[4] ttl ms, ARGV[5] owner (replica id).
  Output: { token or 0, reason ('ok'|'concurrency'|'share:<upstream>'|'cps'), retry-after ms, calls of the tenant }.
  Checks in order concurrency, share, cps; nothing is consumed unless every check passes, so a call
  refused for concurrency does not also spend a token of the bucket.
  Shares are in calls: each call holds at most one unit of each upstream (its ASR socket, one TTS
  context, one LLM stream), so calls × 1 ≤ max × cap, and the others' unmet reserved minimums are
  kept free. Time is Redis TIME: every replica's bucket refills by the same clock. ]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local names = cjson.decode(ARGV[1])
local caps = cjson.decode(ARGV[2])
local fallback = cjson.decode(ARGV[3])
local ttl, owner = tonumber(ARGV[4]), ARGV[5]
local function limits(name)
  local raw = redis.call('HGET', KEYS[1], name)
  if raw then return cjson.decode(raw) end
  return fallback[name] or {}
end
local counts, total = {}, 0
for i, name in ipairs(names) do
  redis.call('ZREMRANGEBYSCORE', KEYS[3 + i], '-inf', now)
  counts[name] = redis.call('ZCARD', KEYS[3 + i])
  total = total + counts[name]
end
local me = names[1]
local L = limits(me)
local mine = counts[me]
local maxc = tonumber(L.maxConcurrent or 0)
if maxc > 0 and mine >= maxc then return { 0, 'concurrency', 0, mine } end
local shares = L.shares or {}
for u, cap in pairs(caps) do
  local s = shares[u]
  local max = cap
  if type(s) == 'table' and s.max ~= nil then max = math.floor(tonumber(s.max) * cap + 1e-9) end
  if mine + 1 > max then return { 0, 'share:' .. u, 0, mine } end
  local reserved = 0
  for _, other in ipairs(names) do
    if other ~= me then
      local os = (limits(other).shares or {})[u]
      if type(os) == 'table' and os.min ~= nil then
        local r = math.ceil(tonumber(os.min) * cap - 1e-9)
        if r > counts[other] then reserved = reserved + r - counts[other] end
      end
    end
  end
  if total + 1 + reserved > cap then return { 0, 'share:' .. u, 0, mine } end
end
local cps = tonumber(L.cps or 0)
if cps > 0 then
  local burst = tonumber(L.burst or 0)
  if burst <= 0 then burst = math.max(1, math.ceil(cps)) end
  local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens, at = tonumber(b[1]), tonumber(b[2])
  if not tokens then tokens, at = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - at) * cps / 1000)
  if tokens < 1 then
    redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
    redis.call('PEXPIRE', KEYS[2], math.ceil(burst / cps * 1000) + 1000)
    return { 0, 'cps', math.ceil((1 - tokens) * 1000 / cps), mine }
  end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst / cps * 1000) + 1000)
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SET', KEYS[3], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
local token = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], now + ttl, string.format('%d', token) .. ':' .. owner)
return { token, 'ok', 0, mine + 1 }
