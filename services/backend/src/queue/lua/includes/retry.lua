-- Ends the current delivery of a message that failed (nack or lease expiry): schedules the retry after
-- `delay` ms, or dead-letters it when it used its attempts or `forceDead` is set. The caller has removed it
-- from K.leased. Returns true when dead-lettered.
local function retryOrDeadLetter(id, s, now, delay, forceDead, err)
  s.lease = ""
  if err ~= "" then redis.call("HSET", K.errors, id, err) end
  if forceDead or s.att >= s.max then
    redis.call("ZADD", K.dead, now, id)
    writeState(id, s)
    return true
  end
  s.avail = now + delay
  redis.call("ZADD", K.delayed, s.avail, id)
  writeState(id, s)
  return false
end
