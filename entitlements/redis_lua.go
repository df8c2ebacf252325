package entitlements

import "github.com/redis/go-redis/v9"

// The scripts below are the only writers of a user's keys. Each runs in one
// slot (every key it touches is passed in KEYS and shares the user's hash
// tag), decides on the current state, writes, bumps the version and
// publishes the user ID, so a change and its notification are atomic.
//
// Common arguments: KEYS[1] is the user hash; ARGV[1] is the change channel
// and ARGV[2] the user ID as a decimal string (published as is, never turned
// into a Lua number). Every script returns an array whose first element is a
// status: "ok", "dup" (nothing changed), "notfound", "insufficient" or
// "overflow"; the second is the user's version.
//
// Numbers: Lua numbers are doubles, and cjson encodes them with 14
// significant digits. Stored JSON therefore holds no JSON numbers at all:
// integers and instants are decimal strings, compared here exactly, as
// strings (icmp, tcmp). Corrupt data raises an error reply starting with
// SGCORRUPT before anything is written.

// luaPrelude holds the helpers every script shares.
const luaPrelude = `
local function corrupt(what)
  error({err = 'SGCORRUPT ' .. tostring(what)})
end

-- str returns a stored string field; absent is ''.
local function str(v, what)
  if v == nil then return '' end
  if type(v) ~= 'string' then corrupt(what) end
  return v
end

local function decode(raw, what)
  local ok, v = pcall(cjson.decode, raw)
  if not ok or type(v) ~= 'table' then corrupt(what) end
  return v
end

local function isint(s)
  return type(s) == 'string' and s:match('^%-?%d+$') ~= nil
end

-- icmp compares two canonical decimal integers (no leading zeros, no '+')
-- exactly, byte by byte: -1, 0 or 1.
local function icmp(a, b)
  if a == b then return 0 end
  local na, nb = a:byte(1) == 45, b:byte(1) == 45
  if na ~= nb then return na and -1 or 1 end
  local r = 0
  if #a ~= #b then
    r = #a < #b and -1 or 1
  else
    for i = 1, #a do
      local x, y = a:byte(i), b:byte(i)
      if x ~= y then
        r = x < y and -1 or 1
        break
      end
    end
  end
  if na then return -r end
  return r
end

-- An instant is '' (the zero time) or '<unix seconds>' or
-- '<unix seconds>.<9 digits of nanoseconds>'.
local function tsplit(t)
  local s, n = t:match('^(%-?%d+)%.(%d%d%d%d%d%d%d%d%d)$')
  if s then return s, n end
  if isint(t) then return t, '000000000' end
  corrupt('instant ' .. t)
end

-- tcmp orders two instants; the zero time comes first, as in Go.
local function tcmp(a, b)
  if a == b then return 0 end
  if a == '' then return -1 end
  if b == '' then return 1 end
  local as, an = tsplit(a)
  local bs, bn = tsplit(b)
  local c = icmp(as, bs)
  if c ~= 0 then return c end
  return icmp(an, bn)
end

-- balance returns the stored balance of a credit field, '0' when absent.
local function balance(field)
  local b = redis.call('HGET', KEYS[1], field)
  if not b then return '0' end
  if not isint(b) then corrupt(field) end
  return b
end

-- addable reports whether adding n to a balance stays well inside int64
-- (HINCRBY would fail half-way through a script otherwise).
local function addable(field, n)
  return tonumber(balance(field)) + tonumber(n) < 9.2e18
end

local function version()
  return redis.call('HGET', KEYS[1], 'v') or '0'
end

local function commit()
  local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return v
end

local function sameFeatures(a, b)
  if type(a) ~= 'table' or type(b) ~= 'table' or #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- sameGrant is grantsEqual: GrantedAt and FirstChargeID do not count.
local function sameGrant(a, b)
  for _, k in ipairs({'id', 'product_id', 'source', 'expires_at', 'charge_id', 'reason'}) do
    if (a[k] or '') ~= (b[k] or '') then return false end
  end
  return (a.auto_renew == true) == (b.auto_renew == true) and sameFeatures(a.features, b.features)
end
`

// luaRecord records a payment and applies its effect.
// KEYS[2] ledger record. ARGV[3] payment JSON, ARGV[4] kind, ARGV[5] grant
// field, ARGV[6] grant JSON (as if there were no grant yet), ARGV[7]
// recurring, ARGV[8] first recurring ('1'/'0'), ARGV[9] charge ID,
// ARGV[10..] credit name/amount pairs. The reply tells the caller, which
// has the payment and the grant it sent, what the event needs and no more:
//
//	{'ok', version}                    purchased; the grant (if any) stored as sent
//	{'ok', version, event type, 'merged', first charge ID, reason}
//	                                   the grant as sent with these two
//	                                   fields of the previous one
//	{'ok', version, event type, 'stored', grant JSON}
//	                                   the previous grant, kept (a late
//	                                   payment of an earlier period)
const luaRecord = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {'dup', version()} end
local kind, field = ARGV[4], ARGV[5]
local reply = {'ok'}
if kind == 'subscription' then
  local old = redis.call('HGET', KEYS[1], field)
  local grant = ARGV[6]
  if old then
    local g = decode(ARGV[6], 'new grant')
    local o = decode(old, field)
    local first = ARGV[8] == '1'
    local ev = 'purchased'
    if ARGV[7] == '1' and not first then ev = 'renewed' end
    if tcmp(str(o.expires_at, field), g.expires_at) < 0 then
      -- a later expiry: the payment now backs the grant
      if not first then g.first_charge_id = str(o.first_charge_id, field) end
      g.reason = str(o.reason, field)
      grant = cjson.encode(g)
      reply = {'ok', ev, 'merged', str(g.first_charge_id, 'new grant'), g.reason}
    else
      -- an older payment arriving late changes nothing but FirstChargeID
      if first then o.first_charge_id = ARGV[9] end
      grant = cjson.encode(o)
      reply = {'ok', ev, 'stored', grant}
    end
  end
  redis.call('HSET', KEYS[1], field, grant)
elseif kind == 'one_time' then
  redis.call('HSET', KEYS[1], field, ARGV[6])
else
  for i = 10, #ARGV, 2 do
    if not addable('c:' .. ARGV[i], ARGV[i + 1]) then return {'overflow', version(), ARGV[i]} end
  end
  for i = 10, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[i], ARGV[i + 1])
  end
end
redis.call('SET', KEYS[2], ARGV[3])
table.insert(reply, 2, commit())
return reply
`

// luaRefund marks a payment refunded and revokes what it granted.
// KEYS[2] ledger record. ARGV[3] refund instant, ARGV[4] charge ID.
// Returns {status, version, payment JSON, revoked grant JSON or empty}.
const luaRefund = `
local raw = redis.call('GET', KEYS[2])
if not raw then return {'notfound', version()} end
local p = decode(raw, 'payment')
if p.status == 'refunded' then return {'dup', version()} end
local revoked, field = '', ''
local take = {}
if p.kind == 'subscription' then
  field = 'g:sub:' .. str(p.product_id, 'payment product')
  local old = redis.call('HGET', KEYS[1], field)
  if old and decode(old, field).charge_id == ARGV[4] then revoked = old end
elseif p.kind == 'one_time' then
  field = 'g:pay:' .. ARGV[4]
  local old = redis.call('HGET', KEYS[1], field)
  if old then
    decode(old, field)
    revoked = old
  end
elseif p.kind == 'consumable' then
  if type(p.credits) ~= 'table' then corrupt('payment credits') end
  for name, n in pairs(p.credits) do
    if type(name) ~= 'string' or not isint(n) or n:byte(1) == 45 then corrupt('payment credits') end
    take[#take + 1] = {name, n, balance('c:' .. name)}
  end
  if p.shortfall ~= nil and type(p.shortfall) ~= 'table' then corrupt('payment shortfall') end
else
  corrupt('payment kind')
end
if revoked ~= '' then redis.call('HDEL', KEYS[1], field) end
for _, t in ipairs(take) do
  local name, n, bal = t[1], t[2], t[3]
  local f = 'c:' .. name
  if icmp(bal, n) >= 0 then
    redis.call('HINCRBY', KEYS[1], f, '-' .. n)
  else
    -- take what is left; the rest is the shortfall, computed by Redis in
    -- int64 (bal - n < 0, so the stored string starts with '-')
    local short = n
    if icmp(bal, '0') > 0 then
      redis.call('HINCRBY', KEYS[1], f, '-' .. n)
      short = string.sub(redis.call('HGET', KEYS[1], f), 2)
      redis.call('HSET', KEYS[1], f, '0')
    end
    p.shortfall = p.shortfall or {}
    p.shortfall[name] = short
  end
end
p.status = 'refunded'
p.refunded_at = ARGV[3]
local out = cjson.encode(p)
redis.call('SET', KEYS[2], out)
return {'ok', commit(), out, revoked}
`

// luaGrant adds or replaces a grant without payment.
// ARGV[3] grant field, ARGV[4] grant JSON. Returns {status, version}.
const luaGrant = `
local old = redis.call('HGET', KEYS[1], ARGV[3])
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' and sameGrant(o, cjson.decode(ARGV[4])) then
    return {'dup', version()}
  end
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
return {'ok', commit()}
`

// luaRevoke removes a grant. ARGV[3] grant field.
// Returns {status, version, removed grant JSON}.
const luaRevoke = `
local old = redis.call('HGET', KEYS[1], ARGV[3])
if not old then return {'notfound', version()} end
redis.call('HDEL', KEYS[1], ARGV[3])
return {'ok', commit(), old}
`

// luaAutoRenew sets a subscription grant's auto_renew. ARGV[3] grant field,
// ARGV[4] '1' or '0'. Returns {status, version, grant JSON}.
const luaAutoRenew = `
local old = redis.call('HGET', KEYS[1], ARGV[3])
if not old then return {'notfound', version()} end
local g = decode(old, ARGV[3])
local want = ARGV[4] == '1'
if (g.auto_renew == true) == want then return {'dup', version()} end
g.auto_renew = want
local out = cjson.encode(g)
redis.call('HSET', KEYS[1], ARGV[3], out)
return {'ok', commit(), out}
`

// luaEnd ends a subscription grant at an instant. ARGV[3] grant field,
// ARGV[4] instant. Returns {status, version, grant JSON}.
const luaEnd = `
local old = redis.call('HGET', KEYS[1], ARGV[3])
if not old then return {'notfound', version()} end
local g = decode(old, ARGV[3])
local later = tcmp(str(g.expires_at, ARGV[3]), ARGV[4]) > 0
if g.auto_renew ~= true and not later then return {'dup', version()} end
if later then g.expires_at = ARGV[4] end
g.auto_renew = false
local out = cjson.encode(g)
redis.call('HSET', KEYS[1], ARGV[3], out)
return {'ok', commit(), out}
`

// luaSpend takes n from a balance, never below zero. ARGV[3] credit field,
// ARGV[4] n. Returns {status, version, balance}.
const luaSpend = `
local bal = balance(ARGV[3])
if icmp(bal, ARGV[4]) < 0 then return {'insufficient', version(), bal} end
redis.call('HINCRBY', KEYS[1], ARGV[3], '-' .. ARGV[4])
local v = commit()
return {'ok', v, redis.call('HGET', KEYS[1], ARGV[3])}
`

// luaAddCredits adds n to a balance. ARGV[3] credit field, ARGV[4] n.
// Returns {status, version, balance}.
const luaAddCredits = `
if not addable(ARGV[3], ARGV[4]) then return {'overflow', version()} end
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[4])
local v = commit()
return {'ok', v, redis.call('HGET', KEYS[1], ARGV[3])}
`

var (
	scriptRecord     = redis.NewScript(luaPrelude + luaRecord)
	scriptRefund     = redis.NewScript(luaPrelude + luaRefund)
	scriptGrant      = redis.NewScript(luaPrelude + luaGrant)
	scriptRevoke     = redis.NewScript(luaPrelude + luaRevoke)
	scriptAutoRenew  = redis.NewScript(luaPrelude + luaAutoRenew)
	scriptEnd        = redis.NewScript(luaPrelude + luaEnd)
	scriptSpend      = redis.NewScript(luaPrelude + luaSpend)
	scriptAddCredits = redis.NewScript(luaPrelude + luaAddCredits)
)
