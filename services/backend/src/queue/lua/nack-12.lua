--[[
  Reports failed deliveries: each message is scheduled for a retry after a backoff, or dead-lettered once it
  has used its attempts (or when asked to). All or nothing, with the token rules of ack-12.lua, except that a
  token already nacked counts as done (nack is idempotent).

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1]  now, epoch ms
  ARGV[2]  error, kept as the last error ("" keeps the previous one)
  ARGV[3]  retry delay ms, or -1 for exponential backoff with jitter
  ARGV[4]  1 to dead-letter at once
  ARGV[5]  random seed in [0, 1) for the jitter
  ARGV[6]  backoff base ms
  ARGV[7]  backoff cap ms
  ARGV[8]  backoff jitter fraction
  ARGV[9]  queue name, ARGV[10] notify channel
  ARGV[11..] two per token: message id, lease nonce
  Returns: { retried count, dead-lettered count } or { -1, 1-based index of the first stale token }
]]
--- @include "keys"
--- @include "state"
--- @include "rates"
--- @include "backoff"
--- @include "retry"
--- @include "tokens"

local now = tonumber(ARGV[1])
local err = ARGV[2]
local fixedDelay = tonumber(ARGV[3])
local forceDead = ARGV[4] == "1"
local seed, base, cap, jitter = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local live, stale = checkTokens(11, true)
if stale then return { -1, stale } end

local retried, dead = 0, 0
for i, m in ipairs(live) do
  redis.call("ZREM", K.leased, m.id)
  m.s.nacked = m.s.lease
  local delay = fixedDelay
  if delay < 0 then delay = backoffDelay(m.s.att, base, cap, jitter, randomAt(seed, i)) end
  if retryOrDeadLetter(m.id, m.s, now, delay, forceDead, err) then
    dead = dead + 1
  else
    retried = retried + 1
  end
end
countEvent(now, "r", retried)
countEvent(now, "x", dead)
if retried > 0 then redis.call("PUBLISH", ARGV[10], ARGV[9]) end
return { retried, dead }
