"""The Lua scripts of the Redis slot pool (each one change, atomic in Redis).

Key layout and lease life cycle: see :mod:`kling_async.scheduling._redis`. Time is
always ``TIME`` on the Redis server. Scripts derive key names from the prefix passed
in ARGV, so they need a standalone Redis (not Redis Cluster).
"""

from __future__ import annotations

__all__ = ["SCRIPTS"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_ACQUIRE = (
    _NOW
    + """
local p, pack, holder, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cost, family = tonumber(ARGV[5]), ARGV[6]
local lease_ttl, ticket_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
local known, token = ARGV[9], ARGV[10]
local q, qa = p .. 'q:' .. pack, p .. 'qa:' .. pack
local lease = p .. 'lease:' .. key
-- The epoch names the pool's data. Missing while this holder knew one, or another
-- one: Redis lost its data (FLUSHALL, a restart without persistence). Then no
-- acquire is admitted until every live holder re-announced its leases (a window
-- of one lease_ttl: a holder that does not heartbeat within it is dead anyway).
local epoch = redis.call('GET', p .. 'epoch')
if not epoch then
  redis.call('SET', p .. 'epoch', token)
  epoch = token
  if known ~= '' then
    redis.call('SET', p .. 'recover', 1, 'PX', lease_ttl)
    return {-4, epoch}
  end
elseif known ~= '' and epoch ~= known then
  return {-4, epoch}
end
if redis.call('EXISTS', p .. 'recover') == 1 then return {-3, epoch} end
if redis.call('EXISTS', lease) == 1 then
  if redis.call('HGET', lease, 'holder') ~= holder then return {-2, epoch} end
  -- ours already: an earlier acquire ran but its reply was lost (a connection cut
  -- after the script, Redis restarted from its append-only file); counted once
  local expires = now + lease_ttl
  redis.call('HSET', lease, 'expires', expires)
  redis.call('ZADD', p .. 'leases', expires, key)
  redis.call('ZREM', q, holder); redis.call('ZREM', qa, holder)
  return {1, epoch}
end
for _, h in ipairs(redis.call('ZRANGEBYSCORE', qa, '-inf', now - ticket_ttl)) do
  redis.call('ZREM', q, h); redis.call('ZREM', qa, h)
end
local cap = tonumber(redis.call('GET', p .. 'cap:' .. pack) or '-1')
if cap < 0 then return {-1, epoch} end
local used = tonumber(redis.call('GET', p .. 'used:' .. pack) or '0')
local head = redis.call('ZRANGE', q, 0, 0)[1]
if (not head or head == holder) and used + cost <= cap then
  redis.call('DEL', p .. 'gone:' .. key)
  redis.call('INCRBY', p .. 'used:' .. pack, cost)
  local expires = now + lease_ttl
  redis.call('HSET', p .. 'lease:' .. key, 'pack', pack, 'cost', cost, 'family', family,
             'task_id', '', 'holder', holder, 'expires', expires, 'adopted', 0)
  redis.call('ZADD', p .. 'leases', expires, key)
  redis.call('SADD', p .. 'holder:' .. holder, key)
  redis.call('ZREM', q, holder); redis.call('ZREM', qa, holder)
  return {1, epoch}
end
redis.call('ZADD', q, 'NX', now, holder)
redis.call('ZADD', qa, now, holder)
return {0, epoch}
"""
)

_ADOPT = (
    _NOW
    + """
local p, pack, holder, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cost, family, task_id, lease_ttl = tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8])
if redis.call('EXISTS', p .. 'lease:' .. key) == 1 then return 0 end
redis.call('DEL', p .. 'gone:' .. key)
redis.call('INCRBY', p .. 'used:' .. pack, cost)
local expires = now + lease_ttl
redis.call('HSET', p .. 'lease:' .. key, 'pack', pack, 'cost', cost, 'family', family,
           'task_id', task_id, 'holder', holder, 'expires', expires, 'adopted', 0)
redis.call('ZADD', p .. 'leases', expires, key)
redis.call('SADD', p .. 'holder:' .. holder, key)
return 1
"""
)

_RELEASE = """
local p, key, tomb_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lease = p .. 'lease:' .. key
local cost = redis.call('HGET', lease, 'cost')
if not cost then return 0 end
redis.call('SET', p .. 'gone:' .. key, 1, 'PX', tomb_ms)
local pack, holder = redis.call('HGET', lease, 'pack'), redis.call('HGET', lease, 'holder')
redis.call('DECRBY', p .. 'used:' .. pack, tonumber(cost))
redis.call('DEL', lease)
redis.call('ZREM', p .. 'leases', key)
redis.call('SREM', p .. 'holder:' .. holder, key)
return tonumber(cost)
"""

_NOTE_TASK = """
local lease = ARGV[1] .. 'lease:' .. ARGV[2]
if redis.call('EXISTS', lease) == 1 then redis.call('HSET', lease, 'task_id', ARGV[3]) end
return 1
"""

# ARGV: prefix, holder, lease_ttl, known epoch, new token, then groups of 5: key, pack,
# cost, family, task_id. Renews the holder's leases; a lease missing because Redis lost
# its data is re-created and counted again, so a restarted Redis learns what is still
# running (and, the epoch gone, no acquire is admitted for one lease_ttl meanwhile). A
# lease that was released (tombstone) or taken over by another holder is reported lost.
# Returns {epoch, lost keys...}.
_RENEW = (
    _NOW
    + """
local p, holder, lease_ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local known, token = ARGV[4], ARGV[5]
local expires = now + lease_ttl
local epoch = redis.call('GET', p .. 'epoch')
if not epoch then
  epoch = token
  redis.call('SET', p .. 'epoch', token)
  if known ~= '' or #ARGV > 5 then
    redis.call('SET', p .. 'recover', 1, 'PX', lease_ttl)
  end
end
local lost = {epoch}
for i = 6, #ARGV, 5 do
  local key, pack, cost = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local lease = p .. 'lease:' .. key
  local owner = redis.call('HGET', lease, 'holder')
  if not owner and redis.call('EXISTS', p .. 'gone:' .. key) == 1 then
    table.insert(lost, key)
  elseif not owner then
    redis.call('INCRBY', p .. 'used:' .. pack, cost)
    redis.call('HSET', lease, 'pack', pack, 'cost', cost, 'family', ARGV[i + 3],
               'task_id', ARGV[i + 4], 'holder', holder, 'expires', expires, 'adopted', 0)
    redis.call('SADD', p .. 'holder:' .. holder, key)
    redis.call('ZADD', p .. 'leases', expires, key)
  elseif owner == holder then
    redis.call('HSET', lease, 'expires', expires)
    redis.call('ZADD', p .. 'leases', expires, key)
  else
    table.insert(lost, key)
  end
end
redis.call('ZADD', p .. 'holders', now, holder)
return lost
"""
)

# ARGV: prefix, holder, lease_ttl, max. Claims expired leases for this holder.
_CLAIM = (
    _NOW
    + """
local p, holder, lease_ttl, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local expired = redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, limit)
for _, key in ipairs(expired) do
  local lease = p .. 'lease:' .. key
  local old = redis.call('HGET', lease, 'holder')
  if old then
    local expires = now + lease_ttl
    redis.call('HSET', lease, 'holder', holder, 'expires', expires, 'adopted', 1)
    redis.call('SREM', p .. 'holder:' .. old, key)
    redis.call('SADD', p .. 'holder:' .. holder, key)
    redis.call('ZADD', p .. 'leases', expires, key)
    redis.call('INCR', p .. 'adopted')
    local f = redis.call('HMGET', lease, 'pack', 'cost', 'family', 'task_id')
    table.insert(out, key); table.insert(out, f[1]); table.insert(out, f[2])
    table.insert(out, f[3]); table.insert(out, f[4])
  else
    redis.call('ZREM', p .. 'leases', key)
  end
end
return out
"""
)


SCRIPTS = {
    "acquire": _ACQUIRE,
    "adopt": _ADOPT,
    "release": _RELEASE,
    "note": _NOTE_TASK,
    "renew": _RENEW,
    "claim": _CLAIM,
}
