-- One lottery draw, atomically. The same decision as store::lottery::decide.
-- KEYS: [1] pause flag, [2] request, [3] chances granted, [4] chances used, [5] guarantee counter, [6] the pool's
--       hydrated marker, [7] the user's, then for prize i (1-based): [4i+4] stock handed out, [4i+5] won by the
--       user, [4i+6] won by the user today, [4i+7] free stock numbers (a sorted set).
-- ARGV: [1] prize count, [2] random (< 2^53), [3] guarantee after (0 = none), [4] guarantee tier,
--       [5] consolation index (0 = none), [6] request ttl ms, [7] day ttl ms, then for prize i, from 7+6(i-1):
--       +1 id, +2 tier, +3 weight, +4 stock (-1 = unlimited), +5 per-user total (-1), +6 per-user daily (-1).
-- Returns {'paused'} | {'no_chance'} | {'out_of_stock'} | {'won', record} | {'replayed', record}
--       | {'forgotten', pool '0'/'1', user '0'/'1'} (a scope to rebuild first; nothing moved).
if redis.call('EXISTS', KEYS[1]) == 1 then return {'paused'} end
local prior = redis.call('GET', KEYS[2])
if prior then return {'replayed', prior} end
local pool_known, user_known = redis.call('EXISTS', KEYS[6]), redis.call('EXISTS', KEYS[7])
if pool_known == 0 or user_known == 0 then
  return {'forgotten', tostring(1 - pool_known), tostring(1 - user_known)}
end
local function count(key) return tonumber(redis.call('GET', key) or '0') end
if count(KEYS[4]) >= count(KEYS[3]) then return {'no_chance'} end
local n = tonumber(ARGV[1])
local since = count(KEYS[5])
local g_after = tonumber(ARGV[3])
local g_tier = tonumber(ARGV[4])
local function field(i, f) return tonumber(ARGV[7 + (i - 1) * 6 + f]) end
local function key(i, k) return KEYS[7 + (i - 1) * 4 + k] end
local function available(i)
  local stock, total, daily = field(i, 4), field(i, 5), field(i, 6)
  if stock >= 0 and count(key(i, 1)) - redis.call('ZCARD', key(i, 4)) >= stock then return false end
  if total >= 0 and count(key(i, 2)) >= total then return false end
  if daily >= 0 and count(key(i, 3)) >= daily then return false end
  return true
end
local function pick(max_tier)
  local total, list = 0, {}
  for i = 1, n do
    local w = field(i, 3)
    if w > 0 and field(i, 2) <= max_tier and available(i) then
      total = total + w
      list[#list + 1] = {i, w}
    end
  end
  if total == 0 then return nil end
  local r = tonumber(ARGV[2]) % total
  for _, c in ipairs(list) do
    if r < c[2] then return c[1] end
    r = r - c[2]
  end
  return nil
end
local chosen, guaranteed = nil, false
if g_after > 0 and since + 1 >= g_after then
  chosen = pick(g_tier)
  guaranteed = chosen ~= nil
end
if not chosen then chosen = pick(math.huge) end
if not chosen then
  local c = tonumber(ARGV[5])
  if c > 0 and available(c) then chosen = c end
end
if not chosen then return {'out_of_stock'} end
local seq = 0
local reused = field(chosen, 4) >= 0 and redis.call('ZPOPMIN', key(chosen, 4)) or {}
if reused[1] then seq = tonumber(reused[1]) else seq = redis.call('INCR', key(chosen, 1)) end
if field(chosen, 4) < 0 then seq = 0 end
redis.call('INCR', key(chosen, 2))
redis.call('INCR', key(chosen, 3))
redis.call('PEXPIRE', key(chosen, 3), ARGV[7])
redis.call('INCR', KEYS[4])
if g_after > 0 then
  if field(chosen, 2) <= g_tier then redis.call('SET', KEYS[5], 0) else redis.call('INCR', KEYS[5]) end
end
local record = ARGV[7 + (chosen - 1) * 6 + 1] .. '|' .. (guaranteed and '1' or '0') .. '|' .. since .. '|' .. seq
redis.call('SET', KEYS[2], record, 'PX', ARGV[6])
return {'won', record}
