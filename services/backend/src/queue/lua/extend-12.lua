--[[
  Extends leases to a new expiry. All or nothing: a token that does not hold its message's current lease
  (including one whose message is gone) fails the batch.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] new expiry, epoch ms
  ARGV[2..] two per token: message id, lease nonce
  Returns: { extended count } or { -1, 1-based index of the first token that holds no lease }
]]
--- @include "keys"
--- @include "state"

local expiry = ARGV[1]
local args = {}
local seen = {}
for i = 2, #ARGV, 2 do
  local id, nonce = ARGV[i], ARGV[i + 1]
  local s = readState(id)
  if not s or s.lease ~= nonce or nonce == "" then return { -1, i / 2 } end
  if not seen[id] then
    seen[id] = true
    args[#args + 1] = expiry
    args[#args + 1] = id
  end
end
if #args > 0 then redis.call("ZADD", K.leased, "XX", unpack(args)) end
return { #args / 2 }
