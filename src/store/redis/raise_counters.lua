-- Raises counters to at least the given values (rebuilt from the database); never lowers one.
-- KEYS[i] counter; ARGV[2i-1] value; ARGV[2i] ttl in ms (0 = keep forever).
for i, key in ipairs(KEYS) do
  local want = tonumber(ARGV[2 * i - 1])
  local ttl = tonumber(ARGV[2 * i])
  if tonumber(redis.call('GET', key) or '0') < want then
    if ttl > 0 then
      redis.call('SET', key, want, 'PX', ttl)
    else
      redis.call('SET', key, want)
    end
  end
end
return #KEYS
