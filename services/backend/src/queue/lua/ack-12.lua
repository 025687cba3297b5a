--[[
  Acknowledges leased messages: they are done and deleted. All or nothing: if any token is stale (its lease
  expired and ended, or a nack ended it, or another lease holds the message), nothing is acknowledged. A token
  of a message that no longer exists counts as acked before. Explicit ids are remembered in K.dedupe for the
  dedupe window, so that a producer that sends them again (an outbox relay after a crash) adds nothing.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] now, epoch ms
  ARGV[2] dedupe window ms (0: remember nothing)
  ARGV[3..] two per token: message id, lease nonce
  Returns: { acknowledged count } or { -1, 1-based index of the first stale token }
]]
--- @include "keys"
--- @include "state"
--- @include "rates"
--- @include "tokens"

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local live, stale = checkTokens(3, false)
if stale then return { -1, stale } end
if #live == 0 then return { 0 } end

local ids = {}
for i, m in ipairs(live) do
  ids[i] = m.id
  if m.s.explicit == "1" and window > 0 then redis.call("ZADD", K.dedupe, now, m.id) end
end
redis.call("HDEL", K.state, unpack(ids))
redis.call("HDEL", K.data, unpack(ids))
redis.call("HDEL", K.errors, unpack(ids))
redis.call("ZREM", K.leased, unpack(ids))
if window > 0 then redis.call("ZREMRANGEBYSCORE", K.dedupe, "-inf", "(" .. string.format("%d", now - window)) end
countEvent(now, "a", #ids)
return { #ids }
