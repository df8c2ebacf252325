package invoice

import "github.com/redis/go-redis/v9"

// allowScript is GCRA, the Generic Cell Rate Algorithm (ITU-T I.371, the ATM
// Forum's "virtual scheduling" form), as applied to rate limiting by Brandur
// Leach's redis-cell (brandur.org/rate-limiting). One key per user holds the
// theoretical arrival time (TAT) in microseconds of the Redis server's clock.
// Each request moves the TAT one emission interval into the future; it is
// refused when that would put the TAT more than burst intervals ahead of now.
// With burst = limit, a user gets limit requests at once, then one more every
// period/limit.
//
// KEYS[1] the user's key
// ARGV[1] emission interval, microseconds (period / limit)
// ARGV[2] burst (limit)
// Reply {allowed 0|1, retry after in microseconds}.
//
// Numbers stay below 2^53, so Lua's doubles hold them exactly, and
// redis.call formats integral numbers as integers.
var allowScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tat = tonumber(redis.call("GET", KEYS[1]) or "")
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now}
end
redis.call("SET", KEYS[1], new_tat, "PX", math.ceil((new_tat - now) / 1000))
return {1, 0}
`)
