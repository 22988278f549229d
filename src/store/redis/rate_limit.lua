-- GCRA rate limit on the server's clock (one clock for every instance). Same arithmetic as store::gcra.
-- KEYS[1] bucket key; ARGV[1] limit; ARGV[2] window in seconds; ARGV[3] 1 to count the request, 0 to only look.
-- Returns {allowed (0/1), remaining, retry_after_us}.
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2]) * 1000000
local interval_us = math.max(math.floor(window_us / limit), 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval_us
local allow_at = new_tat - window_us
if now < allow_at then
  return {0, 0, allow_at - now}
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
end
return {1, math.floor((window_us - (new_tat - now)) / interval_us), 0}
