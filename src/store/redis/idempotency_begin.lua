-- Claim an idempotency key, or report what holds it.
-- KEYS[1] record key; ARGV[1] request fingerprint; ARGV[2] claim ttl in ms.
-- Returns {'started'} | {'in_progress'} | {'mismatch'} | {'completed', response}.
local record = redis.call('HMGET', KEYS[1], 'fp', 'response')
if not record[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'started'}
end
if record[1] ~= ARGV[1] then
  return {'mismatch'}
end
if not record[2] then
  return {'in_progress'}
end
return {'completed', record[2]}
