--[[
  Applies one data event to the data-events projection, once: an outbox id seen before is a no-op, so a
  redelivered message changes nothing. Keeps, per aggregate, the event with the highest outbox id (events may
  arrive out of order after retries), and counts events per topic.

  KEYS[1] hash: aggregate id -> latest event JSON
  KEYS[2] hash: aggregate id -> outbox id of that event
  KEYS[3] hash: topic -> events applied
  KEYS[4] zset: outbox ids applied (score = id), trimmed to the newest ARGV[5]
  ARGV[1] outbox id (an integer)
  ARGV[2] topic
  ARGV[3] aggregate id, or "" for none
  ARGV[4] event JSON
  ARGV[5] how many applied ids to remember
  Returns: 1 when applied, 0 when the id was applied before
]]
local id = ARGV[1]
if redis.call("ZSCORE", KEYS[4], id) then return 0 end
redis.call("ZADD", KEYS[4], id, id)
redis.call("ZREMRANGEBYRANK", KEYS[4], 0, -(tonumber(ARGV[5]) + 1))
redis.call("HINCRBY", KEYS[3], ARGV[2], 1)
if ARGV[3] ~= "" then
  local current = redis.call("HGET", KEYS[2], ARGV[3])
  if not current or tonumber(current) < tonumber(id) then
    redis.call("HSET", KEYS[1], ARGV[3], ARGV[4])
    redis.call("HSET", KEYS[2], ARGV[3], id)
  end
end
return 1
