-- Puts back every counter a draw moved (its database record could not be written). Same KEYS as draw.lua.
-- ARGV: [1] index of the prize won (1-based), [2] guarantee counter before the draw, [3] guarantee after (0 = none),
--       [4] the stock number the draw took (0 = an unstocked prize), [5] '1' to give that number back.
-- A counter never goes below 0 (a rebuild may have set it from the database since the draw), as in memory.
local function down(key)
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
local k = 7 + (tonumber(ARGV[1]) - 1) * 4
local seq = tonumber(ARGV[4])
if seq == 0 then
  down(KEYS[k + 1])
elseif ARGV[5] == '1' then
  redis.call('ZADD', KEYS[k + 4], seq, seq)
end
down(KEYS[k + 2])
down(KEYS[k + 3])
down(KEYS[4])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[5], ARGV[2]) end
redis.call('DEL', KEYS[2])
return 1
