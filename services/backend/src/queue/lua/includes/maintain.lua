-- Returns expired leases to the queue (a retry with backoff, or the dead-letter list once out of attempts) and
-- moves due delayed messages to the tail of their ready list; at most `limit` of each.
-- Returns retried, dead-lettered, promoted.
local function reapExpired(now, limit, seed, base, cap, jitter)
  local ids = redis.call("ZRANGEBYSCORE", K.leased, "-inf", now, "LIMIT", 0, limit)
  local retried, dead = 0, 0
  for i, id in ipairs(ids) do
    redis.call("ZREM", K.leased, id)
    local s = readState(id)
    if s then
      s.nacked = ""
      local delay = backoffDelay(s.att, base, cap, jitter, randomAt(seed, i))
      if retryOrDeadLetter(id, s, now, delay, false, "lease expired before an ack or nack") then
        dead = dead + 1
      else
        retried = retried + 1
      end
    end
  end
  countEvent(now, "r", retried)
  countEvent(now, "x", dead)
  return retried, dead
end

local function promoteDue(now, limit)
  local ids = redis.call("ZRANGEBYSCORE", K.delayed, "-inf", now, "LIMIT", 0, limit)
  if #ids == 0 then return 0 end
  local byPriority = { {}, {}, {} }
  for _, id in ipairs(ids) do
    local s = readState(id)
    if s then
      local list = byPriority[s.pri]
      list[#list + 1] = id
    end
  end
  redis.call("ZREM", K.delayed, unpack(ids))
  for p = 1, 3 do
    if #byPriority[p] > 0 then redis.call("RPUSH", K.ready[p], unpack(byPriority[p])) end
  end
  return #ids
end
