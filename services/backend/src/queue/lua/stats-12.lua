--[[
  Reads a queue's figures. Changes nothing.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV: none
  Returns: { ready high, ready medium, ready low, delayed, leased, dead, enqueue ms of the oldest ready list
    head (-1 if none is ready), then the fields and values of K.counters }
]]
--- @include "keys"

local out = {}
local oldest = -1
for p = 1, 3 do
  out[p] = redis.call("LLEN", K.ready[p])
  local head = redis.call("LINDEX", K.ready[p], 0)
  if head then
    local body = redis.call("HGET", K.data, head)
    local enqueued = body and tonumber(string.match(body, "^(%d+)|"))
    if enqueued and (oldest < 0 or enqueued < oldest) then oldest = enqueued end
  end
end
out[4] = redis.call("ZCARD", K.delayed)
out[5] = redis.call("ZCARD", K.leased)
out[6] = redis.call("ZCARD", K.dead)
out[7] = oldest
local counters = redis.call("HGETALL", K.counters)
for _, v in ipairs(counters) do out[#out + 1] = v end
return out
