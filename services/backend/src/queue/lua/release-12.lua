--[[
  Gives leases back without counting a failed attempt (a worker shutting down before it processed them): the
  messages go back to the head of their ready lists at once. Tokens that no longer hold a lease are skipped.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] queue name, ARGV[2] notify channel
  ARGV[3..] two per token: message id, lease nonce
  Returns: released count
]]
--- @include "keys"
--- @include "state"

local released = 0
-- Backwards, so that LPUSH keeps their order at the head.
for i = #ARGV - 1, 3, -2 do
  local id, nonce = ARGV[i], ARGV[i + 1]
  local s = readState(id)
  if s and s.lease == nonce and nonce ~= "" then
    redis.call("ZREM", K.leased, id)
    s.lease = ""
    if s.att > 0 then s.att = s.att - 1 end
    writeState(id, s)
    redis.call("LPUSH", K.ready[s.pri], id)
    released = released + 1
  end
end
if released > 0 then redis.call("PUBLISH", ARGV[2], ARGV[1]) end
return released
