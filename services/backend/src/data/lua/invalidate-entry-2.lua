--[[
  Invalidates one entry after a write committed, and moves its collection to a new generation so that every
  cached list page of it is left behind (no KEYS/SCAN). The entry becomes a tombstone of the new version:
  reads treat it as a miss, and fill-entry-1 refuses older versions loaded by reads that raced the write.

  KEYS[1]  the entry key
  KEYS[2]  the collection's generation key
  ARGV[1]  the tombstone ("<version>:T")
  ARGV[2]  the committed version (decimal)
  ARGV[3]  the tombstone's time to live, in milliseconds

  Output: the collection's new generation.
]]
local current = redis.call("GET", KEYS[1])
local cachedVersion = current and tonumber(string.match(current, "^(%d+):"))
if not cachedVersion or cachedVersion <= tonumber(ARGV[2]) then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[3])
end
return redis.call("INCR", KEYS[2])
