--[[
  Adds messages to a queue, all in one step. A message whose id is already queued, leased or dead, or (with an
  explicit id) was acked within the dedupe window, is not added again.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] now, epoch ms
  ARGV[2] queue name (registered in K.queues, published on the notify channel)
  ARGV[3] notify channel
  ARGV[4] dedupe window ms (0: only queued, leased and dead ids count)
  ARGV[5..] six per message: id, body, priority (1-3), max attempts, delay ms, explicit id (1/0)
  Returns: one integer per message, in order: 1 added, 0 already present.
]]
--- @include "keys"
--- @include "state"
--- @include "rates"

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[4])
local added = {}
local count = 0
local readyCount = 0
for i = 5, #ARGV, 6 do
  local id, body, pri, max, delay, explicit = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5]
  local present = redis.call("HEXISTS", K.state, id) == 1
  if not present and explicit == "1" and window > 0 then
    local acked = redis.call("ZSCORE", K.dedupe, id)
    present = acked ~= false and tonumber(acked) > now - window
  end
  if present then
    added[#added + 1] = 0
  else
    local avail = now + delay
    redis.call("HSET", K.data, id, body)
    redis.call("HSET", K.state, id, pri .. "|" .. max .. "|0|" .. string.format("%d", avail) .. "|" .. explicit .. "||")
    if delay > 0 then
      redis.call("ZADD", K.delayed, avail, id)
    else
      redis.call("RPUSH", K.ready[tonumber(pri)], id)
      readyCount = readyCount + 1
    end
    added[#added + 1] = 1
    count = count + 1
  end
end
if count > 0 then
  redis.call("SADD", K.queues, ARGV[2])
  countEvent(now, "e", count)
  redis.call("PUBLISH", ARGV[3], ARGV[2])
end
return added
