/**
 * The acceptor rules of `core/acceptor-rules`, as Lua scripts. Redis runs a script atomically (no
 * other command runs in between), so each check-and-write is atomic per key, as the rules require;
 * with `appendonly yes` and `appendfsync always` Redis writes the script's effects to the AOF, as
 * one MULTI/EXEC block, and fsyncs it before it sends any reply of that event-loop turn: persist
 * before reply (paper §2.2). The idea is gryadka's (rystsov/gryadka): one Redis per acceptor, one
 * script per phase.
 *
 * Layout, under a prefix `P` (see `RedisAcceptor`): `P r:<key>` is a hash per key with fields
 * `pc pi` (promise: counter, id), `ac ai` (accepted ballot), `s` (the state; absent = null),
 * `y` (the ancestry; absent = unknown, '' = none); `P m` holds the tombstone floor (`fc fi`);
 * `P a` maps proposer ids to their minimum ages; `P i` is a sorted set (all scores 0, ordered by
 * bytes) of the keys with a non-zero accepted ballot, for `listKeys`. For `watch`: `P w:<key>` is
a marker (with a TTL) that a key is watched, holding the watch's epoch (from the counter `P e`),
and `P l:<key>` a stream logging each change of a watched key (see `WATCH`).
 *
 * Counters are decimal strings, compared with `tonumber` (exact up to 2^53) and stored as given
 * (never re-printed: Lua's `tostring` keeps 14 digits). Ids are UTF-16BE, compared byte by byte
 * here (`cmpid`), never with Lua's `<`, which goes through the server's locale (`strcoll`).
 */
import { MAX_BALLOT_JUMP } from '../core/key-ballots.js';
import { LuaScript } from './client.js';

/** The most changes a watched key's log keeps (see `WATCH`); older ones are trimmed, approximately. */
export const WATCH_LOG_LENGTH = 1024;

const PRELUDE = `
local function cmpid(a, b)
  if a == b then return 0 end
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then if x < y then return -1 else return 1 end end
  end
  if la < lb then return -1 else return 1 end
end
-- compareBallots: counters first, ids (UTF-16 code units, here big-endian bytes) break ties.
local function cmp(ac, ai, bc, bi)
  local x, y = tonumber(ac), tonumber(bc)
  if x ~= y then if x < y then return -1 else return 1 end end
  return cmpid(ai, bi)
end
local function getfloor(meta)
  local f = redis.call('HMGET', meta, 'fc', 'fi')
  return f[1] or '0', f[2] or ''
end
-- GC fence (paper §3.1 step 3): nil to go on, else the minimum the age is below.
local function agefence(ages, c, id)
  local m = redis.call('HGET', ages, id)
  if m and tonumber(c) < tonumber(m) then return m end
  return nil
end
-- Logs a change of a key to its stream l while its watch marker w exists; nothing when unwatched.
local function logchange(w, l, ac, ai, s)
  local ttl = redis.call('PTTL', w)
  if ttl <= 0 then return end
  if s then
    redis.call('XADD', l, 'MAXLEN', '~', ${WATCH_LOG_LENGTH}, '*', 'c', ac, 'i', ai, 's', s)
  else
    redis.call('XADD', l, 'MAXLEN', '~', ${WATCH_LOG_LENGTH}, '*', 'c', ac, 'i', ai)
  end
  redis.call('PEXPIRE', l, ttl)
end
-- Redis does not undo a script that fails half-way: before its first write, a script checks that
-- every key it will write holds its own type (or nothing), so a stray key of another type under
-- the prefix fails the request whole instead of leaving a record without its index entry.
local function checktypes(pairs)
  for i = 1, #pairs, 2 do
    local t = redis.call('TYPE', pairs[i]).ok
    if t ~= 'none' and t ~= pairs[i + 1] then
      return redis.error_reply('WRONGTYPE ' .. pairs[i] .. ' holds a ' .. t .. ', not a ' .. pairs[i + 1] .. '; nothing was written')
    end
  end
  return nil
end
-- conflictWith: the acceptor's highest ballot and its kind, and the highest ballot it may have
-- accepted: its accepted ballot raised to the tombstone floor.
local function conflict(pc, pi, ac, ai, fc, fi)
  local xc, xi = ac, ai
  if cmp(fc, fi, ac, ai) > 0 then xc, xi = fc, fi end
  if cmp(pc, pi, ac, ai) > 0 then return {'conflict', 'promise', pc, pi, xc, xi} end
  return {'conflict', 'accepted', ac, ai, xc, xi}
end
`;

/**
 * Phase 1b. KEYS: record, meta, ages. ARGV: age counter, age id, ballot counter, ballot id.
 * Replies `{'age', minimum}`, a conflict, or `{'promised', ac, ai, state|nil, ancestry|nil}`.
 */
export const PREPARE = new LuaScript(
  'prepare',
  `${PRELUDE}
local m = agefence(KEYS[3], ARGV[1], ARGV[2])
if m then return {'age', m} end
local bc, bi = ARGV[3], ARGV[4]
local r = redis.call('HMGET', KEYS[1], 'pc', 'pi', 'ac', 'ai', 's', 'y')
local pc, pi, ac, ai, s, y
local fc, fi
if r[1] then
  pc, pi, ac, ai, s, y = r[1], r[2], r[3], r[4], r[5], r[6]
else
  -- absentRecord: an absent key behaves as promised the tombstone floor, with nothing accepted.
  fc, fi = getfloor(KEYS[2])
  pc, pi, ac, ai, s, y = fc, fi, '0', '', false, ''
end
-- Paper §2.2: strict, ballot > promise and ballot > accepted.
if cmp(bc, bi, pc, pi) <= 0 or cmp(bc, bi, ac, ai) <= 0 then
  if not fc then fc, fi = getfloor(KEYS[2]) end
  return conflict(pc, pi, ac, ai, fc, fi)
end
if r[1] then
  redis.call('HSET', KEYS[1], 'pc', bc, 'pi', bi)
else
  redis.call('HSET', KEYS[1], 'pc', bc, 'pi', bi, 'ac', '0', 'ai', '', 'y', '')
end
return {'promised', ac, ai, s, y}
`,
);

/**
 * A peek (see `proposer/fast-read`): the accepted ballot and state, read-only. KEYS: record.
 * Replies `{ac, ai, state|nil}` (`'0'`, `''` and nil when nothing is accepted: no record, or one
 * holding only a promise). Writes nothing, so nothing goes to the AOF; its reply, like every reply
 * of its event-loop turn, leaves after that turn's AOF write and fsync (`appendfsync always`), so
 * it never shows an accept that is not on disk yet.
 */
export const PEEK = new LuaScript(
  'peek',
  `local r = redis.call('HMGET', KEYS[1], 'ac', 'ai', 's')
if not r[1] then return {'0', '', false} end
return {r[1], r[2], r[3]}
`,
);

/**
 * Phase 2b. KEYS: record, meta, ages, index, watch marker, watch log. ARGV: age counter, age id, ballot counter, ballot
 * id, key (index member), has state ('1'/'0'), state, next counter ('' for none), next id, has
 * ancestry ('1'/'0'), ancestry. Replies `{'age', minimum}`, a conflict, or `{'accepted', '1'|'0'}`
 * (whether it promised the next ballot).
 */
export const ACCEPT = new LuaScript(
  'accept',
  `${PRELUDE}
local m = agefence(KEYS[3], ARGV[1], ARGV[2])
if m then return {'age', m} end
local bc, bi = ARGV[3], ARGV[4]
local r = redis.call('HMGET', KEYS[1], 'pc', 'pi', 'ac', 'ai')
local pc, pi, ac, ai
local fc, fi
if r[1] then
  pc, pi, ac, ai = r[1], r[2], r[3], r[4]
else
  fc, fi = getfloor(KEYS[2])
  pc, pi, ac, ai = fc, fi, '0', ''
end
-- Paper §2.2: ballot >= promise ("the promise simply cannot be larger") and ballot > accepted.
if cmp(bc, bi, pc, pi) < 0 or cmp(bc, bi, ac, ai) <= 0 then
  if not fc then fc, fi = getfloor(KEYS[2]) end
  return conflict(pc, pi, ac, ai, fc, fi)
end
-- The promise becomes the accepted ballot, or the piggybacked next one (paper §2.2.1), which the
-- caller checked is above it.
local promc, promi, promised = bc, bi, '0'
if ARGV[8] ~= '' then promc, promi, promised = ARGV[8], ARGV[9], '1' end
local wrong = checktypes({KEYS[1], 'hash', KEYS[4], 'zset', KEYS[6], 'stream'})
if wrong then return wrong end
local fields = {'pc', promc, 'pi', promi, 'ac', bc, 'ai', bi}
local gone = {}
if ARGV[6] == '1' then table.insert(fields, 's'); table.insert(fields, ARGV[7]) else table.insert(gone, 's') end
if ARGV[10] == '1' then table.insert(fields, 'y'); table.insert(fields, ARGV[11]) else table.insert(gone, 'y') end
redis.call('HSET', KEYS[1], unpack(fields))
if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
redis.call('ZADD', KEYS[4], 0, ARGV[5])
if ARGV[6] == '1' then logchange(KEYS[5], KEYS[6], bc, bi, ARGV[7]) else logchange(KEYS[5], KEYS[6], bc, bi, false) end
return {'accepted', promised}
`,
);

/**
 * GC step 4. KEYS: record, meta, index, watch marker, watch log. ARGV: tombstone counter, tombstone id, key (index member).
 * Replies `{'absent'}`, `{'not-equal', ac, ai}` or `{'removed'}`.
 */
export const REMOVE = new LuaScript(
  'remove',
  `${PRELUDE}
local r = redis.call('HMGET', KEYS[1], 'pc', 'pi', 'ac', 'ai')
if not r[1] then return {'absent'} end
-- Remove only the tombstone itself: accepted under its ballot, with an empty state.
if cmp(r[3], r[4], ARGV[1], ARGV[2]) ~= 0 or redis.call('HEXISTS', KEYS[1], 's') == 1 then
  return {'not-equal', r[3], r[4]}
end
-- Kept when its promise is far above the tombstone (acceptor-rules.ts, remove): it would become
-- every absent key's floor. Counters stay below 2^48, exact in Lua's doubles.
if tonumber(r[1]) - tonumber(ARGV[1]) > ${MAX_BALLOT_JUMP} then
  return {'not-equal', r[3], r[4]}
end
local wrong = checktypes({KEYS[2], 'hash', KEYS[3], 'zset', KEYS[5], 'stream'})
if wrong then return wrong end
-- The removed record's promise survives as the floor every absent key behaves as promised.
local fc, fi = getfloor(KEYS[2])
if cmp(r[1], r[2], fc, fi) > 0 then redis.call('HSET', KEYS[2], 'fc', r[1], 'fi', r[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[3])
-- Watchers see the key become empty, under the zero ballot (it has no record any more).
logchange(KEYS[4], KEYS[5], '0', '', false)
return {'removed'}
`,
);

/**
 * GC step 3. KEYS: ages. ARGV: pairs of proposer id, counter. Raises each minimum, never lowers
 * one. Replies with the number raised.
 */
export const RAISE_AGES = new LuaScript(
  'raise-ages',
  `
local n = 0
for i = 1, #ARGV, 2 do
  local m = redis.call('HGET', KEYS[1], ARGV[i])
  if tonumber(ARGV[i + 1]) > tonumber(m or '0') then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    n = n + 1
  end
end
return n
`,
);

/** One page of listed keys. KEYS: index. ARGV: ZRANGEBYLEX start ('-' or '(' .. last), count. */
export const LIST = new LuaScript('list', `return redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))`);

/**
 * A watch poll. KEYS: record, watch marker, watch log, epoch counter. ARGV: the watch's epoch (''
 * on the first poll), the id of the last log entry it read, the marker's TTL in ms, the most
 * entries to return.
 *
 * While the marker exists, accept and remove append each change of the key to its log, so a poll
 * gets every change since the last one, in order (`{'entries', [[id, fields], ...]}`), and watch
 * streams deliver each change, as `MemoryAcceptor`'s do, not just the latest. The first poll arms
 * the marker and replies `{'start', epoch, last log id, ac, ai, state|nil}`: the current state,
 * read atomically with the log position, so nothing falls between the two. A watch whose poller
 * stalled past the TTL finds the marker gone or re-armed under another epoch: changes may have
 * gone unlogged meanwhile, so it gets a fresh start (the current state), like a consumer that
 * fell behind its buffer.
 */
export const WATCH = new LuaScript(
  'watch',
  `
local ttl = tonumber(ARGV[3])
local epoch = redis.call('GET', KEYS[2])
if epoch and epoch == ARGV[1] then
  if redis.call('PTTL', KEYS[2]) < ttl / 2 then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
  local ms, seq = string.match(ARGV[2], '^(%d+)-(%d+)$')
  return {'entries', redis.call('XRANGE', KEYS[3], ms .. '-' .. (tonumber(seq) + 1), '+', 'COUNT', tonumber(ARGV[4]))}
end
if epoch then
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  epoch = tostring(redis.call('INCR', KEYS[4]))
  redis.call('SET', KEYS[2], epoch, 'PX', ttl)
end
local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local last = '0-0'
if top[1] then last = top[1][1] end
local r = redis.call('HMGET', KEYS[1], 'ac', 'ai', 's')
return {'start', epoch, last, r[1] or '0', r[2] or '', r[3]}
`,
);
