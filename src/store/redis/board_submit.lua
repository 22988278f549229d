-- Raises leaderboard values (never lowers one) and, for the last batch of a rebuild, marks the board complete.
-- KEYS: [1] board, [2] complete marker. ARGV: [1] '1' to mark complete, then member, value pairs.
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i])
end
if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1') end
return 1
