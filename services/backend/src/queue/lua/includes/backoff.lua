-- Retry delay after failed delivery `attempt` (1-based): exp = min(cap, base * 2^(attempt - 1)), of which the
-- `jitter` fraction is random: floor(exp * (1 - jitter + jitter * r)). Mirrors backoff.ts.
local function backoffDelay(attempt, base, cap, jitter, r)
  local exp = base * (2 ^ (attempt - 1))
  if exp > cap then exp = cap end
  return math.floor(exp * (1 - jitter + jitter * r))
end

-- The i-th random number in [0, 1) of a call, from the one seed the caller passed (scripts get no randomness
-- of their own): an additive golden-ratio sequence. Mirrors randomAt in backoff.ts.
local function randomAt(seed, i)
  local v = seed + i * 0.6180339887498949
  return v - math.floor(v)
end
