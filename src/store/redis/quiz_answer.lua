-- One quiz answer, atomically. The same decision as the memory store (store::quiz::judge and valid_choice).
-- KEYS: [1] pause flag, [2] attempt hash.
-- ARGV: [1] user id, [2] question number, [3] chosen labels (sorted, unique letters), [4] now ms.
-- Returns {'paused'} | {'none'} | {'expired'} | {'invalid'} | {'not_current', current}
--       | {'finished', record...} | {'answered', record, correct, explanation, next ('' after the last), record...}
-- (the trailing records, every answer of the attempt, only when this answer was its last).
if redis.call('EXISTS', KEYS[1]) == 1 then return {'paused'} end
local a = redis.call('HMGET', KEYS[2], 'user', 'n', 'cur', 'shown', 'exp', 'late', 'fast')
if not a[1] or a[1] ~= ARGV[1] then return {'none'} end
local n, cur = tonumber(a[2]), tonumber(a[3])
local function records(reply)
  for i = 1, n do reply[#reply + 1] = redis.call('HGET', KEYS[2], 'r' .. i) end
  return reply
end
if cur > n then return records({'finished'}) end
local now = tonumber(ARGV[4])
if now > tonumber(a[5]) then return {'expired'} end
if tonumber(ARGV[2]) ~= cur then return {'not_current', tostring(cur)} end
local offer = redis.call('HGET', KEYS[2], 'v' .. cur)
local multiple, labels = string.sub(offer, 1, 1) == 'm', string.sub(offer, 3)
local chosen = ARGV[3]
if #chosen == 0 or (not multiple and #chosen ~= 1) then return {'invalid'} end
for i = 1, #chosen do
  if not string.find(labels, string.sub(chosen, i, i), 1, true) then return {'invalid'} end
end
local elapsed = math.max(now - tonumber(a[4]), 0)
local late = elapsed > tonumber(a[6])
local fast = elapsed < tonumber(a[7])
local key = redis.call('HGET', KEYS[2], 'k' .. cur)
local correct = (not late) and chosen == key
local function bit(b) if b then return '1' else return '0' end end
local record = chosen .. '|' .. bit(correct) .. '|' .. bit(late) .. '|' .. bit(fast) .. '|' .. string.format('%d', elapsed)
redis.call('HSET', KEYS[2], 'r' .. cur, record, 'cur', cur + 1, 'shown', ARGV[4])
local reply = {'answered', record, key, redis.call('HGET', KEYS[2], 'e' .. cur)}
if cur < n then
  reply[5] = redis.call('HGET', KEYS[2], 'q' .. (cur + 1))
  return reply
end
reply[5] = ''
return records(reply)
