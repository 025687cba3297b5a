--[[
  Tells which leases are still held. Changes nothing. Consume streams use it to free the slots of messages
  that were acked or nacked through another backend, or whose lease expired.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV: two per token: message id, lease nonce
  Returns: one integer per token: 1 while it holds its message's current lease, else 0
]]
--- @include "keys"
--- @include "state"

local out = {}
for i = 1, #ARGV, 2 do
  local s = readState(ARGV[i])
  out[#out + 1] = (s and s.lease == ARGV[i + 1] and ARGV[i + 1] ~= "") and 1 or 0
end
return out
