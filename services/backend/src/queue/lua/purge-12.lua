--[[
  Deletes up to ARGV[3] messages that are not leased: ready and delayed ones, dead letters, or both. The caller
  repeats until it returns 0, so that a large queue never blocks the server for long.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] 1 to delete ready and delayed messages
  ARGV[2] 1 to delete dead letters
  ARGV[3] most messages to delete in this call
  Returns: deleted count
]]
--- @include "keys"

local limit = tonumber(ARGV[3])
local ids = {}
local function take(list)
  for _, id in ipairs(list) do ids[#ids + 1] = id end
end
if ARGV[1] == "1" then
  for p = 1, 3 do
    if #ids < limit then
      local popped = redis.call("LPOP", K.ready[p], limit - #ids)
      if popped then take(popped) end
    end
  end
  if #ids < limit then
    local due = redis.call("ZRANGE", K.delayed, 0, limit - #ids - 1)
    if #due > 0 then
      redis.call("ZREM", K.delayed, unpack(due))
      take(due)
    end
  end
end
if ARGV[2] == "1" and #ids < limit then
  local dead = redis.call("ZRANGE", K.dead, 0, limit - #ids - 1)
  if #dead > 0 then
    redis.call("ZREM", K.dead, unpack(dead))
    take(dead)
  end
end
if #ids > 0 then
  redis.call("HDEL", K.data, unpack(ids))
  redis.call("HDEL", K.state, unpack(ids))
  redis.call("HDEL", K.errors, unpack(ids))
end
return #ids
