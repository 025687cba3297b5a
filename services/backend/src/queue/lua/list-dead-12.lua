--[[
  Reads one page of dead letters, oldest first (by dead-letter time, then id). Changes nothing.

  KEYS: the twelve queue keys (includes/keys.lua).
  ARGV[1] dead-letter ms of the last item of the previous page, or "" for the first page
  ARGV[2] id of the last item of the previous page
  ARGV[3] page size; one more item is read to tell whether a next page exists
  Returns: { total dead letters, then five per item: id, body, state, last error, dead-letter ms }
]]
--- @include "keys"

local want = tonumber(ARGV[3]) + 1
local ids = {}
local scores = {}
local function add(list)
  for i = 1, #list, 2 do
    if #ids < want then
      ids[#ids + 1] = list[i]
      scores[#scores + 1] = list[i + 1]
    end
  end
end
-- True when `a` sorts after `b` byte by byte, as sorted-set members do (Lua's `>` follows the locale).
local function sortsAfter(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end

if ARGV[1] == "" then
  add(redis.call("ZRANGE", K.dead, 0, want - 1, "WITHSCORES"))
else
  -- Dead letters of the same millisecond sort by id; take those after the cursor, then the later ones.
  local ties = redis.call("ZRANGEBYSCORE", K.dead, ARGV[1], ARGV[1], "WITHSCORES")
  for i = 1, #ties, 2 do
    if #ids < want and sortsAfter(ties[i], ARGV[2]) then
      ids[#ids + 1] = ties[i]
      scores[#scores + 1] = ties[i + 1]
    end
  end
  if #ids < want then
    add(redis.call("ZRANGEBYSCORE", K.dead, "(" .. ARGV[1], "+inf", "WITHSCORES", "LIMIT", 0, want - #ids))
  end
end
local out = { redis.call("ZCARD", K.dead) }
for i, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call("HGET", K.data, id) or ""
  out[#out + 1] = redis.call("HGET", K.state, id) or ""
  out[#out + 1] = redis.call("HGET", K.errors, id) or ""
  out[#out + 1] = scores[i]
end
return out
