-- Where an attempt stands, read in one step.
-- KEYS: [1] attempt hash. ARGV: [1] user id.
-- Returns {} (none for this user) | {current, count, shown ms, current question ('' when done), record...}.
local a = redis.call('HMGET', KEYS[1], 'user', 'n', 'cur', 'shown')
if not a[1] or a[1] ~= ARGV[1] then return {} end
local cur = tonumber(a[3])
local reply = {a[3], a[2], a[4], redis.call('HGET', KEYS[1], 'q' .. cur) or ''}
for i = 1, cur - 1 do reply[#reply + 1] = redis.call('HGET', KEYS[1], 'r' .. i) end
return reply
