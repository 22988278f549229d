-- Drop our claim if it is still pending (no response stored).
-- KEYS[1] record key; ARGV[1] fingerprint.
local record = redis.call('HMGET', KEYS[1], 'fp', 'response')
if record[1] == ARGV[1] and not record[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
