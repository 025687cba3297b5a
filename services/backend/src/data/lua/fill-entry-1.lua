--[[
  Stores a freshly loaded cache entry unless the key holds a newer version: a read that loaded version N
  before a write committed N+1 must not put N back after the write's invalidation.

  KEYS[1]  the entry key
  ARGV[1]  the encoded entry ("<version>:<kind>" then the payload)
  ARGV[2]  its version (decimal)
  ARGV[3]  time to live, in milliseconds

  Output: 1 when stored, 0 when a newer version (or its tombstone) is cached.
]]
local current = redis.call("GET", KEYS[1])
if current then
  local cachedVersion = tonumber(string.match(current, "^(%d+):"))
  if cachedVersion and cachedVersion > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
return 1
