-- Puts back every counter a draw moved (its database record could not be written). Same KEYS as draw.lua.
-- ARGV: [1] index of the prize won (1-based), [2] guarantee counter before the draw, [3] guarantee after (0 = none).
local k = 5 + (tonumber(ARGV[1]) - 1) * 3
redis.call('DECR', KEYS[k + 1])
redis.call('DECR', KEYS[k + 2])
redis.call('DECR', KEYS[k + 3])
redis.call('DECR', KEYS[4])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[5], ARGV[2]) end
redis.call('DEL', KEYS[2])
return 1
