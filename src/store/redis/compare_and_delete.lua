-- Compare-and-delete: delete the key only if it still holds the given value. Releases a lock (only its holder's
-- token does) and expires a credential (only if no other instance has replaced it meanwhile).
-- KEYS[1] key; ARGV[1] expected value. Returns 1 if deleted.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
