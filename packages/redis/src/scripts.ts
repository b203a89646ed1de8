/**
 * The store's Lua scripts: each engine operation is one script, so one round trip and one atomic
 * step. They mirror core's decisions.ts line for line (planAdmission, decideRotation,
 * revokedRecord, revocationOf); the conformance suite holds them to the same outcomes.
 *
 * node-redis sends them with EVALSHA and, on NOSCRIPT (after SCRIPT FLUSH, a restart or a
 * failover to a replica that never saw them), once with EVAL, which loads them again.
 *
 * Conventions: times arrive as decimal strings and are written back as they came, or through
 * `fmt` (17 significant digits: exact for every double); records are split and joined, never
 * re-encoded (see record.ts). Keys other than KEYS[] are derived from `base`, the bucket's hash-tag
 * prefix, so they are in the slot of the declared keys.
 */
import { defineScript, type CommandParser } from 'redis';

const LIB = String.raw`
local SEP = '\31'
local SID, USER, CREATED, SEEN, IDLE, ABSOLUTE, REVOKED_AT, REASON, ROTATED, GENERATION, HASH, PREVIOUS, OLDER, SUCCESSOR =
  2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15

local function split(s, sep)
  local out, pos = {}, 1
  while true do
    local at = string.find(s, sep, pos, true)
    if not at then
      out[#out + 1] = string.sub(s, pos)
      return out
    end
    out[#out + 1] = string.sub(s, pos, at - 1)
    pos = at + 1
  end
end

local function fmt(n)
  return string.format('%.17g', n)
end

-- session.ts isLive: not revoked, neither idle- nor absolutely expired at now.
local function isLive(r, now)
  return r[REVOKED_AT] == '' and now < tonumber(r[IDLE]) and now < tonumber(r[ABSOLUTE])
end

local function liveUntil(r)
  return math.min(tonumber(r[IDLE]), tonumber(r[ABSOLUTE]))
end

-- session.ts purgeAt: retention after the record stopped being live.
local function purgeAt(r, retention)
  if r[REVOKED_AT] ~= '' then return tonumber(r[REVOKED_AT]) + retention end
  return liveUntil(r) + retention
end

-- Lengthens a key's time to live to at least ttl ms; never shortens it (other members may need more).
local function keepFor(key, ttl)
  ttl = math.ceil(ttl)
  if ttl < 1 then return end
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, fmt(ttl)) end
end

-- Byte order, as JavaScript orders these ASCII sids: Lua's string < uses strcoll, which follows the
-- server's locale (Redis calls setlocale(LC_COLLATE, "")).
local function bytesBefore(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- decisions.ts byLeastRecentlySeen: lastSeenAt, then createdAt, then sid (over parsed index members).
local function leastRecentlySeen(a, b)
  if a.seen ~= b.seen then return a.seen < b.seen end
  if a.created ~= b.created then return a.created < b.created end
  return bytesBefore(a.sid, b.sid)
end

-- ids.ts hashesEqual: no comparison whose time depends on the stored hash (CWE-208, observable
-- timing discrepancy). Both sides are hashed again and the digests compared ("double hashing"): the
-- time of == then depends only on digests an attacker cannot steer. A constant-time byte loop with
-- bit.bxor costs ~10 times more in Redis' Lua. Empty means null.
local function sameHash(a, b)
  if a == '' or b == '' then return false end
  return redis.sha1hex(a) == redis.sha1hex(b)
end

local function load(base, sid)
  local raw = redis.call('GET', base .. 's:' .. sid)
  if raw then return split(raw, SEP) end
  return nil
end

-- The record lives until purgeAt, counted from the caller's now (never the server's clock).
local function save(base, r, now, retention)
  local ttl = math.ceil(purgeAt(r, retention) - now)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', base .. 's:' .. r[SID], table.concat(r, SEP), 'PX', fmt(ttl))
end

-- The user index holds one member per live session, "lastSeenAt:createdAt:sid", scored by the time
-- it stops being live: which sessions are live, how many, and in which order they are evicted all
-- come from the index; only the records of evicted sessions are read.
local function indexMember(r)
  return r[SEEN] .. ':' .. r[CREATED] .. ':' .. r[SID]
end

local function parseMember(m)
  local a = string.find(m, ':', 1, true)
  local b = string.find(m, ':', a + 1, true)
  return { member = m, seen = tonumber(string.sub(m, 1, a - 1)), created = tonumber(string.sub(m, a + 1, b - 1)), sid = string.sub(m, b + 1) }
end

local function indexLive(base, r, now)
  local key = base .. 'u:' .. r[USER]
  local untilAt = liveUntil(r)
  redis.call('ZADD', key, fmt(untilAt), indexMember(r))
  keepFor(key, untilAt - now)
end

-- Index members live at now (now < end of liveness), in order of that end.
local function liveMembers(key, nowText)
  return redis.call('ZRANGEBYSCORE', key, '(' .. nowText, '+inf')
end

-- decisions.ts revokedRecord + the store contract: leaves the live set, appends an entry kept for
-- retention, and queues the feed message (session.ts revocationOf).
local function revoke(base, r, reason, nowText, retention, entries)
  local now = tonumber(nowText)
  r[REVOKED_AT] = nowText
  r[REASON] = reason
  save(base, r, now, retention)
  redis.call('ZREM', base .. 'u:' .. r[USER], indexMember(r))
  local recent = base .. 'r'
  redis.call('ZADD', recent, nowText, r[SID] .. SEP .. reason .. SEP .. r[USER])
  redis.call('ZREMRANGEBYSCORE', recent, '-inf', fmt(now - retention))
  keepFor(recent, retention)
  entries[#entries + 1] = '{"sid":"' .. r[SID] .. '","userId":' .. cjson.encode(r[USER]) ..
    ',"reason":"' .. reason .. '","at":' .. nowText .. '}'
end

local function announce(channel, entries)
  if #entries > 0 then redis.call('PUBLISH', channel, '[' .. table.concat(entries, ',') .. ']') end
end
`;

/** KEYS: session, user index, bucket revocations. ARGV: now, retention, maxSessions, onLimit, record, base, channel. */
const CREATE = String.raw`
local now, retention, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local base, index = ARGV[6], KEYS[2]
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate'} end
local evicted, entries = {}, {}
if max > 0 then
  -- decisions.ts planAdmission, over the index.
  local live = liveMembers(index, ARGV[1])
  if #live >= max then
    if ARGV[4] == 'reject' then return {'reject'} end
    local candidates = {}
    for i, m in ipairs(live) do candidates[i] = parseMember(m) end
    -- The least recently seen first, one at a time: usually one is evicted, so selecting beats sorting.
    for _ = 1, #live - max + 1 do
      local oldest = 1
      for i = 2, #candidates do
        if leastRecentlySeen(candidates[i], candidates[oldest]) then oldest = i end
      end
      local victim = table.remove(candidates, oldest)
      local r = load(base, victim.sid)
      if r then
        revoke(base, r, 'evicted', ARGV[1], retention, entries)
        evicted[#evicted + 1] = table.concat(r, SEP)
      else
        redis.call('ZREM', index, victim.member)
      end
    end
  end
end
-- Sessions that stopped being live leave the index (their records stay until purged).
redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[1])
local r = split(ARGV[5], SEP)
save(base, r, now, retention)
indexLive(base, r, now)
announce(ARGV[7], entries)
return {'ok', evicted}
`;

/**
 * KEYS: session, bucket revocations. ARGV: now, presentedHash, next.hash, next.successor,
 * idleTimeout, refreshGrace, refreshHistory, retention, base, channel. Mirrors decideRotation.
 */
const ROTATE = String.raw`
local raw = redis.call('GET', KEYS[1])
if not raw then return {'invalid'} end
local r = split(raw, SEP)
local now, presented = tonumber(ARGV[1]), ARGV[2]
local older = {}
if r[OLDER] ~= '' then older = split(r[OLDER], ',') end
local isCurrent = sameHash(r[HASH], presented)
local isPrevious = not isCurrent and sameHash(r[PREVIOUS], presented)
local isOlder = false
if not isCurrent and not isPrevious then
  for _, h in ipairs(older) do
    if sameHash(h, presented) then isOlder = true end
  end
end
if not (isCurrent or isPrevious or isOlder) then return {'invalid'} end
if r[REVOKED_AT] ~= '' then return {'revoked', raw} end
if not isLive(r, now) then return {'expired', raw} end
local retention, base = tonumber(ARGV[8]), ARGV[9]
if isCurrent then
  local superseded = {r[HASH]}
  if r[PREVIOUS] ~= '' then superseded[#superseded + 1] = r[PREVIOUS] end
  for _, h in ipairs(older) do superseded[#superseded + 1] = h end
  local previousMember = indexMember(r)
  local kept = {}
  for i = 2, math.max(1, tonumber(ARGV[7])) do
    if superseded[i] then kept[#kept + 1] = superseded[i] end
  end
  r[SEEN] = ARGV[1]
  r[IDLE] = fmt(math.min(now + tonumber(ARGV[5]), tonumber(r[ABSOLUTE])))
  r[HASH] = ARGV[3]
  r[PREVIOUS] = superseded[1]
  r[OLDER] = table.concat(kept, ',')
  r[ROTATED] = ARGV[1]
  r[GENERATION] = fmt(tonumber(r[GENERATION]) + 1)
  r[SUCCESSOR] = ARGV[4]
  save(base, r, now, retention)
  redis.call('ZREM', base .. 'u:' .. r[USER], previousMember)
  indexLive(base, r, now)
  return {'rotated', table.concat(r, SEP)}
end
if isPrevious and r[SUCCESSOR] ~= '' and now - tonumber(r[ROTATED]) <= tonumber(ARGV[6]) then
  return {'grace', raw}
end
local entries = {}
revoke(base, r, 'reuse_detected', ARGV[1], retention, entries)
announce(ARGV[10], entries)
return {'reuse', table.concat(r, SEP)}
`;

/** KEYS: session, bucket revocations. ARGV: now, reason, retention, base, channel. */
const REVOKE = String.raw`
local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown'} end
local r = split(raw, SEP)
if r[REVOKED_AT] ~= '' then return {'unchanged', raw} end
local entries = {}
revoke(ARGV[4], r, ARGV[2], ARGV[1], tonumber(ARGV[3]), entries)
announce(ARGV[5], entries)
return {'revoked', table.concat(r, SEP)}
`;

/** KEYS: user index, bucket revocations. ARGV: now, reason, retention, base, channel, exceptSid. */
const REVOKE_USER = String.raw`
local now, base = tonumber(ARGV[1]), ARGV[4]
local out, entries = {}, {}
for _, m in ipairs(liveMembers(KEYS[1], ARGV[1])) do
  local sid = parseMember(m).sid
  if sid ~= ARGV[6] then
    local r = load(base, sid)
    if r and isLive(r, now) then
      revoke(base, r, ARGV[2], ARGV[1], tonumber(ARGV[3]), entries)
      out[#out + 1] = table.concat(r, SEP)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
announce(ARGV[5], entries)
return out
`;

/** KEYS: user index. ARGV: now, base. Reads only. */
const LIST = String.raw`
local now, base = tonumber(ARGV[1]), ARGV[2]
local out = {}
for _, m in ipairs(liveMembers(KEYS[1], ARGV[1])) do
  local raw = redis.call('GET', base .. 's:' .. parseMember(m).sid)
  if raw and isLive(split(raw, SEP), now) then out[#out + 1] = raw end
end
return out
`;

/** KEYS: counter. ARGV: now, windowMs. A fixed window from the first hit, on the caller's clock. */
const HIT = String.raw`
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, resetAt = 0, now + window
local held = redis.call('GET', KEYS[1])
if held then
  local at = string.find(held, ':', 1, true)
  local heldReset = tonumber(string.sub(held, at + 1))
  if now < heldReset then count, resetAt = tonumber(string.sub(held, 1, at - 1)), heldReset end
end
count = count + 1
redis.call('SET', KEYS[1], fmt(count) .. ':' .. fmt(resetAt), 'PX', fmt(math.max(1, math.ceil(resetAt - now))))
return {fmt(count), fmt(resetAt)}
`;

/** KEYS: stream. ARGV: maxEvents, then one JSON event per argument, in order. */
const APPEND_EVENTS = String.raw`
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
end
return #ARGV - 1
`;

/** KEYS: names, user. ARGV: id, username, passwordHash, createdAt, updatedAt. */
const CREATE_USER = String.raw`
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'username', ARGV[2], 'passwordHash', ARGV[3], 'createdAt', ARGV[4], 'updatedAt', ARGV[5])
return 1
`;

/** KEYS: names. ARGV: user key prefix, username. */
const USER_BY_NAME = String.raw`
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. id)
`;

/** KEYS: user. ARGV: passwordHash, updatedAt. */
const SET_PASSWORD = String.raw`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'passwordHash', ARGV[1], 'updatedAt', ARGV[2])
return 1
`;

/** KEYS: names, user. */
const DELETE_USER = String.raw`
local username = redis.call('HGET', KEYS[2], 'username')
if not username then return 0 end
redis.call('HDEL', KEYS[1], username)
redis.call('DEL', KEYS[2])
return 1
`;

/** KEYS: names. ARGV: user key prefix. */
const LIST_USERS = String.raw`
local out = {}
for _, id in ipairs(redis.call('HVALS', KEYS[1])) do
  local fields = redis.call('HGETALL', ARGV[1] .. id)
  if #fields > 0 then out[#out + 1] = fields end
end
return out
`;

/**
 * Session data (layout.ts). KEYS: entry, bucket index. ARGV: value, expiresAt, now, key. An expiry at
 * or before now removes the entry. Index members that stopped being live are dropped on the way.
 */
const DATA_SET = String.raw`
local expiresAt, now = tonumber(ARGV[2]), tonumber(ARGV[3])
if expiresAt <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[4])
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], fmt(expiresAt - now))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
keepFor(KEYS[2], expiresAt - now)
return 1
`;

/** KEYS: entry, bucket index. ARGV: expiresAt, now, key. 1 if a live entry was touched. */
const DATA_TOUCH = String.raw`
local expiresAt, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HGET', KEYS[1], 'e')
if not held or tonumber(held) <= now then return 0 end
if expiresAt <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 1
end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], fmt(expiresAt - now))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
keepFor(KEYS[2], expiresAt - now)
return 1
`;

/** KEYS: entry, bucket index. ARGV: key. */
const DATA_DELETE = String.raw`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/** KEYS: bucket index. ARGV: now, entry key prefix. Flat {key, value, expiresAt, ...} of the live entries. */
const DATA_LIST = String.raw`
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local held = redis.call('HMGET', ARGV[2] .. key, 'v', 'e')
  if held[1] and held[2] and tonumber(held[2]) > tonumber(ARGV[1]) then
    out[#out + 1] = key
    out[#out + 1] = held[1]
    out[#out + 1] = held[2]
  end
end
return out
`;

/** KEYS: bucket index. ARGV: entry key prefix. Removes every entry of the namespace in the bucket. */
const DATA_CLEAR = String.raw`
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, key in ipairs(keys) do redis.call('DEL', ARGV[1] .. key) end
redis.call('DEL', KEYS[1])
return #keys
`;

function script(numberOfKeys: number, body: string, lib = true) {
  return defineScript({
    SCRIPT: lib ? LIB + body : body,
    NUMBER_OF_KEYS: numberOfKeys,
    parseCommand(parser: CommandParser, keys: string[], args: string[]) {
      // The first key routes the script to its slot's node in a cluster.
      for (const key of keys) parser.pushKey(key);
      parser.push(...args);
    },
    transformReply: (reply: unknown) => reply,
  });
}

export const SCRIPTS = {
  tesseraCreateSession: script(3, CREATE),
  tesseraRotateRefresh: script(2, ROTATE),
  tesseraRevokeSession: script(2, REVOKE),
  tesseraRevokeUser: script(2, REVOKE_USER),
  tesseraListSessions: script(1, LIST),
  tesseraHit: script(1, HIT),
  tesseraAppendEvents: script(1, APPEND_EVENTS, false),
  tesseraCreateUser: script(2, CREATE_USER, false),
  tesseraUserByName: script(1, USER_BY_NAME, false),
  tesseraSetPassword: script(1, SET_PASSWORD, false),
  tesseraDeleteUser: script(2, DELETE_USER, false),
  tesseraListUsers: script(1, LIST_USERS, false),
  tesseraDataSet: script(2, DATA_SET),
  tesseraDataTouch: script(2, DATA_TOUCH),
  tesseraDataDelete: script(2, DATA_DELETE, false),
  tesseraDataList: script(1, DATA_LIST, false),
  tesseraDataClear: script(1, DATA_CLEAR, false),
};

export type ScriptName = keyof typeof SCRIPTS;
