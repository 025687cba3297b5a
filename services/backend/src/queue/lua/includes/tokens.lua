-- Lease tokens arrive as ARGV pairs (id, nonce) from index `first`. Checks every pair before anything is
-- changed, so that one stale token leaves the whole batch untouched. A message that no longer exists was
-- acked (or purged after its lease ended): it counts as done. With `allowNacked`, a token whose lease a nack
-- already ended counts as done too (nack is idempotent); otherwise it is stale. Returns the states of the
-- pairs that hold the current lease (each id once) and the 1-based index of the first stale pair (or nil).
local function checkTokens(first, allowNacked)
  local live, seen = {}, {}
  local n = (#ARGV - first + 1) / 2
  for i = 1, n do
    local id, nonce = ARGV[first + 2 * i - 2], ARGV[first + 2 * i - 1]
    local s = readState(id)
    if s and not seen[id] then
      if s.lease == nonce and nonce ~= "" then
        seen[id] = true
        live[#live + 1] = { id = id, s = s }
      elseif not (allowNacked and s.lease == "" and s.nacked == nonce and nonce ~= "") then
        return nil, i
      end
    end
  end
  return live, nil
end
