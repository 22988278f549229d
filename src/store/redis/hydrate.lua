-- Sets a scope's counters to what the database says, then marks the scope hydrated: one atomic step, so no
-- draw sees half a scope.
-- KEYS: [1] the scope's marker, [2..n+1] counters, [n+2..] free stock number sets.
-- ARGV: [1] n, then per counter: value, ttl ms (0 = kept); then per free set: a comma-separated list (may be empty).
local n = tonumber(ARGV[1])
for i = 1, n do
  local value, ttl = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  if ttl > 0 then
    redis.call('SET', KEYS[i + 1], value, 'PX', ttl)
  else
    redis.call('SET', KEYS[i + 1], value)
  end
end
for i = n + 2, #KEYS do
  redis.call('DEL', KEYS[i])
  for seq in string.gmatch(ARGV[n + i], '[^,]+') do
    redis.call('ZADD', KEYS[i], tonumber(seq), seq)
  end
end
redis.call('SET', KEYS[1], '1')
return 1
