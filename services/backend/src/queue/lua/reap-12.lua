--[[
  Periodic upkeep of one queue: returns expired leases to the queue (retry with backoff, or dead letter) and
  moves due delayed messages to their ready lists, waking waiting consumers when something became ready.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] now, epoch ms
  ARGV[2] random seed in [0, 1) for the jitter
  ARGV[3] backoff base ms
  ARGV[4] backoff cap ms
  ARGV[5] backoff jitter fraction
  ARGV[6] most messages of each kind to handle
  ARGV[7] queue name, ARGV[8] notify channel
  Returns: { expired leases retried, expired leases dead-lettered, delayed messages made ready }
]]
--- @include "keys"
--- @include "state"
--- @include "rates"
--- @include "backoff"
--- @include "retry"
--- @include "maintain"

local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[6])
local retried, dead = reapExpired(now, limit, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
local promoted = promoteDue(now, limit)
if promoted > 0 then redis.call("PUBLISH", ARGV[8], ARGV[7]) end
return { retried, dead, promoted }
