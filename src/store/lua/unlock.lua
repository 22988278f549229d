-- Compare-and-delete: only the holder's token releases the lock.
-- KEYS[1] lock key; ARGV[1] token. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
