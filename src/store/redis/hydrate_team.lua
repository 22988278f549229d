-- Writes a team's seats whole, as the database holds them, and each member's mark.
-- KEYS: [1] the team's hash, [1 + i] member i's mark.
-- ARGV: [1] team id, [2] size, [3] leader, [4] expires (ms), [5] how long to keep them (ms), then per member i:
-- [4 + 2i] seat, [5 + 2i] user.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'size', ARGV[2], 'leader', ARGV[3], 'expires', ARGV[4])
for i = 1, #KEYS - 1 do
  local seat, user = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  redis.call('HSET', KEYS[1], 's' .. seat, user, 'u' .. user, seat)
  redis.call('SET', KEYS[1 + i], ARGV[1], 'PX', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
