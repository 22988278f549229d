-- The top of a leaderboard and one member's rank, read in one step.
-- KEYS: [1] board, [2] complete marker. ARGV: [1] how many, [2] member.
-- Returns {complete '1'/'0', rank ('' if absent, 0-based), value (''), member, value, member, value...}.
local reply = {tostring(redis.call('EXISTS', KEYS[2]))}
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
if rank then
  reply[2] = tostring(rank)
  reply[3] = redis.call('ZSCORE', KEYS[1], ARGV[2])
else
  reply[2], reply[3] = '', ''
end
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #top do reply[#reply + 1] = top[i] end
return reply
