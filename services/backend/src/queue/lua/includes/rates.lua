-- Per-queue counters in K.counters: lifetime totals E (enqueued), A (acked), R (retried), X (dead-lettered),
-- and a ring of 7 buckets of 10 s (fields b<slot> = bucket number, e/a/r/x<slot> = counts) for the rates
-- over the last minute that queue-stats.ts computes.
local RATE_BUCKET_MS = 10000
local RATE_SLOTS = 7

local function countEvent(now, kind, n)
  if n <= 0 then return end
  local bucket = string.format("%d", math.floor(now / RATE_BUCKET_MS))
  local slot = tostring(math.floor(now / RATE_BUCKET_MS) % RATE_SLOTS)
  if redis.call("HGET", K.counters, "b" .. slot) ~= bucket then
    redis.call("HSET", K.counters, "b" .. slot, bucket, "e" .. slot, 0, "a" .. slot, 0, "r" .. slot, 0, "x" .. slot, 0)
  end
  redis.call("HINCRBY", K.counters, kind .. slot, n)
  redis.call("HINCRBY", K.counters, string.upper(kind), n)
end
