--[[ fenced-append-2: the storage side of fencing. Appends an action to a log only if the caller's
  token is not older than any token the log has accepted, so a holder that was paused past its
  lease cannot act after a newer holder did, whatever the lease key says now (it may be gone).
  KEYS[1] highest accepted token, KEYS[2] log LIST. ARGV[1] token, ARGV[2] entry.
  Output: 1 appended, 0 refused (stale token). ]]
local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < seen then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
