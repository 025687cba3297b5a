--[[
  Leases up to ARGV[2] ready messages. First it returns expired leases to the queue and moves due delayed
  messages to their ready lists, so that no lease is lost even when no reaper runs.

  Which priority goes next (the aging rule, mirrored by aging.ts): the head of each ready list has an
  effective time = the time it became ready + (priority - 1) * aging. The head with the earliest effective
  time is leased; ties go to the higher priority. So high is served before medium and low, but a medium
  message that has been ready `aging` ms longer than the high head (low: twice that) goes first: a steady
  stream of high messages cannot starve the others.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1]  now, epoch ms
  ARGV[2]  max messages
  ARGV[3]  visibility timeout ms
  ARGV[4]  lease nonce; the i-th message's lease is nonce .. i, its token that and "." .. id
  ARGV[5]  aging ms
  ARGV[6]  random seed in [0, 1), for the backoff of expired leases
  ARGV[7]  backoff base ms
  ARGV[8]  backoff cap ms
  ARGV[9]  backoff jitter fraction
  ARGV[10] most expired leases and due delayed messages to handle
  Returns: { leased count, next due ms (earliest delayed or lease expiry; -1 if none; only when nothing was
    leased), expired leases retried, expired leases dead-lettered, then four per message: id, body, state,
    last error ("" if none) }
]]
--- @include "keys"
--- @include "state"
--- @include "rates"
--- @include "backoff"
--- @include "retry"
--- @include "maintain"

local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local expiry = now + tonumber(ARGV[3])
local nonce = ARGV[4]
local aging = tonumber(ARGV[5])
local limit = tonumber(ARGV[10])

local retried, dead = reapExpired(now, limit, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
promoteDue(now, math.max(limit, max))

-- heads[p] = { id, state, effective time } of list p, or false when it is empty.
local heads = {}
local function loadHead(p)
  local id = redis.call("LINDEX", K.ready[p], 0)
  while id do
    local s = readState(id)
    if s then
      heads[p] = { id = id, s = s, at = s.avail + (p - 1) * aging }
      return
    end
    -- An id without state (deleted under it): drop it.
    redis.call("LPOP", K.ready[p])
    id = redis.call("LINDEX", K.ready[p], 0)
  end
  heads[p] = false
end
for p = 1, 3 do loadHead(p) end

local out = { 0, -1, retried, dead }
local leasedArgs = {}
local stateArgs = {}
local n = 0
while n < max do
  local best = nil
  for p = 1, 3 do
    local h = heads[p]
    if h and (best == nil or h.at < heads[best].at) then best = p end
  end
  if best == nil then break end
  local h = heads[best]
  redis.call("LPOP", K.ready[best])
  n = n + 1
  h.s.att = h.s.att + 1
  h.s.lease = nonce .. n
  h.s.nacked = ""
  local encoded = encodeState(h.s)
  leasedArgs[#leasedArgs + 1] = expiry
  leasedArgs[#leasedArgs + 1] = h.id
  stateArgs[#stateArgs + 1] = h.id
  stateArgs[#stateArgs + 1] = encoded
  out[#out + 1] = h.id
  out[#out + 1] = redis.call("HGET", K.data, h.id) or ""
  out[#out + 1] = encoded
  out[#out + 1] = redis.call("HGET", K.errors, h.id) or ""
  loadHead(best)
end

if n > 0 then
  redis.call("ZADD", K.leased, unpack(leasedArgs))
  redis.call("HSET", K.state, unpack(stateArgs))
else
  local nextDue = -1
  local d = redis.call("ZRANGE", K.delayed, 0, 0, "WITHSCORES")
  if d[2] then nextDue = tonumber(d[2]) end
  local l = redis.call("ZRANGE", K.leased, 0, 0, "WITHSCORES")
  if l[2] and (nextDue < 0 or tonumber(l[2]) < nextDue) then nextDue = tonumber(l[2]) end
  out[2] = nextDue
end
out[1] = n
return out
