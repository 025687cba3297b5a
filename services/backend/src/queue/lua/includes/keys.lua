-- The twelve keys every queue script receives, in this order (see queue-keys.ts).
local K = {
  data = KEYS[1],     -- hash: id -> body "<enqueue ms>|<meta length>|<meta json><payload json>", never changes
  state = KEYS[2],    -- hash: id -> "priority|max attempts|attempts|available ms|explicit id|lease nonce|nacked nonce"
  errors = KEYS[3],   -- hash: id -> last error
  ready = { KEYS[4], KEYS[5], KEYS[6] }, -- lists of ready ids, one per priority (high, medium, low), FIFO
  delayed = KEYS[7],  -- zset: id -> available ms (delays and retry backoffs)
  leased = KEYS[8],   -- zset: id -> lease expiry ms
  dead = KEYS[9],     -- zset: id -> dead-letter ms
  counters = KEYS[10], -- hash: rate buckets and lifetime totals (includes/rates.lua)
  dedupe = KEYS[11],  -- zset: explicit id -> ack ms, for the dedupe window
  queues = KEYS[12],  -- set of every queue name that received a message (shared by all queues)
}
