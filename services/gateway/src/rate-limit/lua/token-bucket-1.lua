--[[
  Takes one token from a caller's token bucket, refilled continuously at `rate` per second up to `burst`.
  Time is the server's (TIME), so every gateway sharing this Valkey sees the same clock.

  KEYS[1]  the bucket: a hash of `tokens` (fractional) and `at` (ms of the last refill)
  ARGV[1]  rate: tokens added per second (> 0)
  ARGV[2]  burst: the bucket's capacity (>= 1)

  Output   { allowed (1 or 0), whole tokens left, ms until a token is available (0 when allowed),
             ms until the bucket is full again }
  The key expires once the bucket would be full again: an idle caller costs no memory.
]]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1])
local at = tonumber(bucket[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end

local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
local full = math.ceil((burst - tokens) * 1000 / rate)

redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.max(full, 1000))
return { allowed, math.floor(tokens), wait, full }
