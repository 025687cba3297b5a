-- A message's mutable state, one field of K.state: "priority|max|attempts|available|explicit|lease|nacked".
-- `lease` is the nonce of the current lease ("" when not leased); `nacked` the nonce of the lease that a
-- nack ended (so that nacking the same token again is a no-op), cleared by the next lease.
local function readState(id)
  local raw = redis.call("HGET", K.state, id)
  if not raw then return nil end
  local p, m, a, v, x, t, n = string.match(raw, "^(%d)|(%d+)|(%d+)|(%d+)|(%d)|([^|]*)|([^|]*)$")
  if not p then return nil end
  return { pri = tonumber(p), max = tonumber(m), att = tonumber(a), avail = tonumber(v), explicit = x, lease = t, nacked = n }
end

local function encodeState(s)
  return s.pri .. "|" .. s.max .. "|" .. s.att .. "|" .. string.format("%d", s.avail) .. "|" .. s.explicit .. "|" .. s.lease .. "|" .. s.nacked
end

local function writeState(id, s)
  redis.call("HSET", K.state, id, encodeState(s))
end
