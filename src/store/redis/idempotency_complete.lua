-- Store the response of a claimed key, unless another request's record stands there (our claim lapsed).
-- KEYS[1] record key; ARGV[1] fingerprint; ARGV[2] response; ARGV[3] ttl in ms.
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp and fp ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'response', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
