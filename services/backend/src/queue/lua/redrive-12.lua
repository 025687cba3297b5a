--[[
  Moves dead letters back to the tail of their ready lists with their attempts reset (the last error stays).

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] now, epoch ms
  ARGV[2] most messages to move when no ids are given (the oldest dead letters)
  ARGV[3] queue name, ARGV[4] notify channel
  ARGV[5..] ids of the dead letters to move; ids that are not dead letters are skipped
  Returns: moved count
]]
--- @include "keys"
--- @include "state"

local now = tonumber(ARGV[1])
local ids = {}
if #ARGV >= 5 then
  for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call("ZRANGE", K.dead, 0, tonumber(ARGV[2]) - 1)
end
local moved = 0
for _, id in ipairs(ids) do
  if redis.call("ZREM", K.dead, id) == 1 then
    local s = readState(id)
    if s then
      s.att = 0
      s.avail = now
      s.lease = ""
      s.nacked = ""
      writeState(id, s)
      redis.call("RPUSH", K.ready[s.pri], id)
      moved = moved + 1
    end
  end
end
if moved > 0 then redis.call("PUBLISH", ARGV[4], ARGV[3]) end
return moved
