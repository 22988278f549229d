-- One join of a team, atomically; the same decision as `teams::decide_join` (memory store), in the same order.
-- KEYS: [1] the team's hash (size, leader, expires, s<seat> = user, u<user> = seat), [2] the customer's mark in
-- the activity (the team they sit in), [3] the campaign's pause flag.
-- ARGV: [1] team id, [2] user id, [3] now (ms, the application's clock), [4] how long the mark lives (ms).
-- Returns {code, seat or other team, full}: 0 joined, 1 not hydrated, 2 paused, 3 expired, 4 full, 5 own team,
-- 6 already a member, 7 in another team.
if redis.call('EXISTS', KEYS[3]) == 1 then return {2, 0, 0} end
local team = redis.call('HMGET', KEYS[1], 'size', 'leader', 'expires')
if not team[1] then return {1, 0, 0} end
if tonumber(ARGV[3]) >= tonumber(team[3]) then return {3, 0, 0} end
if redis.call('HEXISTS', KEYS[1], 'u' .. ARGV[2]) == 1 then
  if team[2] == ARGV[2] then return {5, 0, 0} end
  return {6, 0, 0}
end
local seated = redis.call('GET', KEYS[2])
if seated and seated ~= ARGV[1] then return {7, tonumber(seated), 0} end
local size = tonumber(team[1])
local taken, free = 0, nil
for seat = 1, size do
  if redis.call('HEXISTS', KEYS[1], 's' .. seat) == 1 then
    taken = taken + 1
  elseif not free then
    free = seat
  end
end
if not free then return {4, 0, 0} end
redis.call('HSET', KEYS[1], 's' .. free, ARGV[2], 'u' .. ARGV[2], free)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
local full = 0
if taken + 1 == size then full = 1 end
return {0, free, full}
