-- lib.lua: what every script shares, read by lua/embed.sh into each one.
--
-- lua/embed.sh puts each script together: the script first, on its own
-- line numbers, then the parts of this file it uses (how to read an
-- "@user_script:N" is said there). The script's body runs once this file
-- has filled the table pg.
--
-- The convention (docs/DESIGN.md, "Lua scripts"):
-- * KEYS: every key the script touches that the caller can name before the
--   call; a key found from data (a broker id read from a hash, a channel
--   read from a set) is built here, with the pg.key_* builders: the one
--   place in Lua that spells "pg:".
-- * ARGV: values, decimal numbers as strings.
-- * The reply is always an array whose first element is a status string:
--   'ok', or a lower-case word saying why nothing was done ('nosub',
--   'nodevice', ...); the values follow it. pg.reply builds it.

-- ---- key names (docs/DESIGN.md, "Redis keys") ----
function pg.key_dev(d) return 'pg:dev:' .. d end
function pg.key_dev_subs(d) return 'pg:dev:' .. d .. ':subs' end
function pg.key_dev_cur(d) return 'pg:dev:' .. d .. ':cur' end
function pg.key_dev_in(d) return 'pg:dev:' .. d .. ':in' end
function pg.key_dev_freed(d) return 'pg:dev:' .. d .. ':freed' end
-- A channel's name in its keys: '%' and ':' escaped as %25 and %3A, so
-- that no name ("a:subs") spells another channel's key; an id is as it is.
function pg.key_chname(c) return (string.gsub(c, '[%%:]', {['%'] = '%25', [':'] = '%3A'})) end
function pg.key_ch(c) return 'pg:ch:' .. pg.key_chname(c) end
function pg.key_ch_subs(c) return 'pg:ch:' .. pg.key_chname(c) .. ':subs' end
function pg.key_ch_subs_types(c) return 'pg:ch:' .. pg.key_chname(c) .. ':subs:types' end
function pg.key_ch_brokers(c) return 'pg:ch:' .. pg.key_chname(c) .. ':brokers' end
-- a sender's dedup window w (pg.dup_window): prefix pg:dupw:{from}
function pg.key_dupw(prefix, w) return prefix .. ':' .. string.format('%d', w) end
function pg.key_dups(from) return 'pg:dups:' .. from end
function pg.key_serial(ty, serial) return 'pg:serial:' .. ty .. ':' .. serial end
function pg.key_bk(b) return 'pg:bk:' .. b end
-- upstream queues (docs/DESIGN.md, "Upstream queues"): topic t's frames,
-- the brokers popping it, broker b's frames in flight (hash, seq index, seq)
function pg.key_q(t) return 'pg:q:' .. t end
function pg.key_q_bk(t) return 'pg:q:' .. t .. ':bk' end
function pg.key_qf(b) return 'pg:qf:' .. b end
function pg.key_qf_z(b) return 'pg:qf:' .. b .. ':z' end
function pg.key_qf_n(b) return 'pg:qf:' .. b .. ':n' end
-- a broker's pub/sub channel of notices
function pg.key_notice(b) return 'pg:n:bk:' .. b end
-- Keys without an id: the callers pass them (common/keys.h).
pg.KEY_BROKERS = 'pg:brokers'
pg.KEY_CHANNELS = 'pg:channels'
pg.KEY_DEVICES = 'pg:devices'
pg.KEY_KEPT = 'pg:kept'
pg.KEY_STATS = 'pg:stats'
pg.KEY_API_CLIENTS = 'pg:api:clients'
pg.KEY_NEXT_DEVICE_ID = 'pg:next_device_id'
pg.KEY_NEXT_PUT_ID = 'pg:next_put_id'
pg.KEY_QF_BROKERS = 'pg:qf:brokers'
-- The presence index (docs/DESIGN.md, "Presence and topic indexes"):
-- connected clients by id, and per broker the ids it may hold there.
pg.KEY_ONLINE = 'pg:online'
pg.KEY_ONLINE_BROKERS = 'pg:online:brokers'
function pg.key_online_bk(b) return 'pg:online:bk:' .. b end
-- Channels with subscribers, in byte order (score 0; topic.list).
pg.KEY_TOPICS = 'pg:topics'
-- A member of pg:online: the id zero-padded to 19 digits, so that byte
-- order (ZRANGE BYLEX) is numeric order for every int64 (no double).
function pg.online_member(d) return string.rep('0', 19 - #d) .. d end

-- ---- channel names (docs/DESIGN.md, "Channel names"; common/chan.c) ----
-- An id: [1-9][0-9]*, at most 2^63-1 (19 digits compare as strings).
function pg.chan_is_id(c)
  return string.find(c, '^[1-9]%d*$') ~= nil and
    (#c < 19 or (#c == 19 and c <= '9223372036854775807'))
end
-- A channel field (a stream entry's c, a notice's channel, a field of
-- pg:dev:{d}:cur): an id as it is, any other name as '~' .. name.
function pg.chan_field(c)
  if pg.chan_is_id(c) then return c end
  return '~' .. c
end

-- ---- replies, time ----
function pg.reply(status, ...) return {status, ...} end

-- Redis's clock in ms, so that every daemon judges time alike.
function pg.now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end

function pg.ms(n) return string.format('%d', n) end

-- An id counter after a change of master: at least Redis's clock in
-- microseconds. That is past every id an earlier master gave out, as long
-- as ids were taken at under one per microsecond since the last raise (or
-- since 1970, before any); a counter already past it is left alone.
function pg.id_floor(key)
  local t = redis.call('TIME')
  local floor = t[1] * 1000000 + t[2]
  if tonumber(redis.call('GET', key) or '0') < floor then
    redis.call('SET', key, string.format('%d', floor))
  end
end

-- ---- formats (docs/DESIGN.md, "Notices" and "Cursors") ----
-- A message notice: the whole stream entry, parsed by brokerd/notice.c.
function pg.notice_msg(id, mid, from, ch, exp, to, ty, body)
  return 'M ' .. id .. ' ' .. mid .. ' ' .. from .. ' ' .. ch .. ' ' .. exp .. ' ' .. to ..
    ' ' .. ty .. '\n' .. body
end
-- Fast: the broker wrote message (from, mid) to device d (0: channel ch's
-- subscribers) before Redis had it; id is its stream entry.
function pg.notice_fast(d, ch, id, from, mid)
  return 'F ' .. d .. ' ' .. ch .. ' ' .. id .. ' ' .. from .. ' ' .. mid
end
-- Kick: close device d's connection conn (an older one, replaced).
function pg.notice_kick(d, conn) return 'K ' .. d .. ' ' .. conn end
-- Drop: close device d (adminhttp's disconnect).
function pg.notice_drop(d) return 'D ' .. d end
-- Limits: the cluster-wide limits of pg:limits, '-' for one not set there.
function pg.notice_limits(a, m) return 'L ' .. a .. ' ' .. m end
-- Wake-up: topic t's queue got frames (brokerd/queue.c pops them).
function pg.notice_wake(t) return 'Q ' .. t end
-- Device d was subscribed to channel field f, reading from cursor cur; or left it.
function pg.notice_sub(d, f, cur) return 'S ' .. d .. ' ' .. f .. ' ' .. cur end
function pg.notice_unsub(d, f) return 'U ' .. d .. ' ' .. f end
-- Broadcast: message mid (accepted at ms) to every connected client of the
-- broker; it answers its count to broker `reply`, naming request seq.
function pg.notice_bcast(mid, ms, reply, seq, body)
  return 'B ' .. mid .. ' ' .. ms .. ' ' .. reply .. ' ' .. seq .. '\n' .. body
end
-- A broker's answer to broadcast request seq: written to n clients.
function pg.notice_bcount(seq, n) return 'C ' .. seq .. ' ' .. n end
-- Tells broker bk (the device's hash's 'broker', '' or nil: offline) to
-- close device d; returns how many brokers heard it (0: none).
function pg.drop(bk, d)
  if not bk or bk == '' then return 0 end
  return redis.call('PUBLISH', pg.key_notice(bk), pg.notice_drop(d))
end

-- A cursor "START SENT": START the next read's XRANGE start, exclusive of
-- entry `after`; SENT the newest entry ever sent.
function pg.cursor(after, sent) return '(' .. after .. ' ' .. sent end
function pg.cursor_start(cur) return string.match(cur, '^(%S+)') end
function pg.cursor_sent(cur) return string.match(cur, ' (%S+)$') end
-- Cursor cur of stream, when nothing before it is unfinished ("(after
-- sent"), moved past the entries at its head that are in set ids (n of
-- them: finished ones); any other cursor is returned as it is.
function pg.cursor_past(stream, cur, ids, n)
  local after, moved = string.match(cur, '^%((%S+) '), false
  if not after then return cur end
  for _, e in ipairs(redis.call('XRANGE', stream, '(' .. after, '+', 'COUNT', n)) do
    if not ids[e[1]] then break end
    after, moved = e[1], true
  end
  if not moved then return cur end
  local sent = pg.cursor_sent(cur)
  if pg.idcmp(after, sent) > 0 then sent = after end
  return pg.cursor(after, sent)
end

-- Stream ids "ms-seq": -1, 0, 1.
function pg.idcmp(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, bm, as, bs = tonumber(am), tonumber(bm), tonumber(as), tonumber(bs)
  if am ~= bm then return am < bm and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end

-- ---- dedup: the answer to (sender, message id) is kept 10 minutes ----
-- For mesh sends (pg:mdup:...): one string key per message.
function pg.dup_get(key) return redis.call('GET', key) end
function pg.dup_put(key, id) redis.call('SET', key, id, 'EX', 600) end
-- For PUB and MSG_SEND_REQ, on every message's path: one hash per sender
-- and 5-minute window of the writer's clock (pg:dupw:{from}:{w}, field:
-- the message id), not a key per message, so that Redis's keyspace does
-- not grow with the rate times 10 minutes (docs/PERFORMANCE.md 32). A
-- window's hash expires 11 minutes after its end. A repeat at now is
-- looked for in now's window, the two before (10 minutes back at least)
-- and the one after (a writer whose clock ran ahead of this one's).
pg.DUPW_MS = 300000
function pg.dup_window(now) return math.floor(now / pg.DUPW_MS) end
function pg.dupw_get(prefix, mid, now)
  local w = pg.dup_window(now)
  for i = w + 1, w - 2, -1 do
    local v = redis.call('HGET', pg.key_dupw(prefix, i), mid)
    if v then return v end
  end
  return nil
end
function pg.dupw_put(prefix, mid, v, now)
  local w = pg.dup_window(now)
  local k = pg.key_dupw(prefix, w)
  redis.call('HSET', k, mid, v)
  redis.call('PEXPIREAT', k, pg.ms((w + 1) * pg.DUPW_MS + 660000), 'NX')
end
-- A sender's quota of dedup records: counter n (pg:dups:{from}) counts what
-- it had accepted since the counter's first of a 10-minute window; true
-- when this one is past max ('0': no bound). So it holds at most 3 x max
-- records at once (they live 10 to 16 minutes: three windows). One INCR, and an
-- EXPIRE only when the window begins: this is on every message's path.
function pg.dup_over(n, max)
  if max == '0' then return false end
  local c = redis.call('INCR', n)
  if c == 1 then redis.call('EXPIRE', n, 600) end
  return c > tonumber(max)
end

-- ---- brokers ----
-- A broker is live while its heartbeat (Redis time, hb) is at most 5 s old.
function pg.live(hb, now) return hb and now - tonumber(hb) <= 5000 or false end
-- A broker's process holds its notice channel's subscription while it
-- runs; kill -9 closes it at once, well before the heartbeat goes stale.
function pg.listening(b)
  return redis.call('PUBSUB', 'NUMSUB', pg.key_notice(b))[2] > 0
end

-- ---- routing ----
-- Appends a message to stream (capped exactly at maxlen) with its expiry
-- exp (Unix ms) and announces the whole entry on each pub/sub channel in
-- notify (the brokers that deliver it). Returns the entry id, whose ms
-- part is the message's time: ms `at` when given and not below the
-- stream's last entry, else Redis's. The caller keeps the stream alive
-- (pg.outlive or pg.outlive_inbox) and counts the message (pg.count_in):
-- each costs a call, which the PUB and /put scripts do not make for every
-- message (brokerd and routerd add their counts in batches).
function pg.route(stream, notify, mid, from, ch, exp, to, ty, body, maxlen, at)
  local id
  if at and at ~= '' then
    id = redis.pcall('XADD', stream, 'MAXLEN', maxlen, at .. '-*', 'm', mid,
      'f', from, 'c', ch, 'x', exp, 't', ty, 'b', body)
  end
  if type(id) ~= 'string' then
    id = redis.call('XADD', stream, 'MAXLEN', maxlen, '*', 'm', mid,
      'f', from, 'c', ch, 'x', exp, 't', ty, 'b', body)
  end
  local notice = pg.notice_msg(id, mid, from, ch, exp, to, ty, body)
  for _, n in ipairs(notify) do redis.call('PUBLISH', n, notice) end
  return id
end

-- An accepted message, in stats' messages_in (docs/DESIGN.md, "Counters").
function pg.count_in(stats) redis.call('HINCRBY', stats, 'messages_in', 1) end

-- A stream outlives its newest entry by ttl: pushed forward only when it
-- would end more than a tenth of the ttl (at most a minute) early.
function pg.outlive_due(left, ttl) return left < ttl - math.min(60000, ttl / 10) end

-- For a channel's stream: its TTL read (PTTL) on each write.
function pg.outlive(stream, ttl)
  local left = redis.call('PTTL', stream)
  if left < 0 or pg.outlive_due(left, ttl) then redis.call('PEXPIRE', stream, ttl) end
end

-- For a receiver's inbox, whose hash dev the script read anyway: the
-- inbox's expiry is kept in the hash's inx (Unix ms, as set with
-- PEXPIREAT), so a write costs no PTTL; now is the writer's clock. Whoever
-- deletes an inbox deletes inx with it (admin_gbye); an inbox that expired
-- is past its inx, so the next write sets both again.
function pg.outlive_inbox(inbox, dev, inx, now, ttl)
  if inx and not pg.outlive_due(tonumber(inx) - now, ttl) then return end
  local at = pg.ms(now + ttl)
  redis.call('PEXPIREAT', inbox, at)
  redis.call('HSET', dev, 'inx', at)
end

-- The brokers in set brokers (a channel's, each adds itself in its SUB and
-- IDENTIFY scripts), as a notify list.
function pg.channel_notify(brokers)
  local l = {}
  for _, b in ipairs(redis.call('SMEMBERS', brokers)) do l[#l + 1] = pg.key_notice(b) end
  return l
end

-- The device's broker, if it is connected, as a notify list.
function pg.device_notify(broker)
  if broker and broker ~= '' then return {pg.key_notice(broker)} end
  return {}
end

-- ---- mesh sends (mesh.send, mesh.multicast, mesh.send_bulk; SPEC 5.3, 5.5) ----
-- A message to device d (its hash dev and inbox), as /put sends one: an id
-- from counter next, routed to its broker when it is connected, kept for
-- it otherwise (stats: pg:stats, kept: pg:kept). Returns the message id,
-- or nil when d is not known (nothing is done).
function pg.send(dev, inbox, next, stats, kept, from, d, body, ttl, maxlen)
  local v = redis.call('HMGET', dev, 'known', 'broker', 'inx')
  if not v[1] then return nil end
  local mid = pg.ms(redis.call('INCR', next))
  local now = pg.now_ms()
  pg.route(inbox, pg.device_notify(v[2]), mid, from, '0', pg.ms(now + ttl), d, '0', body, maxlen)
  pg.outlive_inbox(inbox, dev, v[3], now, ttl)
  pg.count_in(stats)
  pg.keep(stats, kept, dev, d, v[2], inbox)
  return mid
end

-- One message to channel c (its stream, :subs and :brokers keys), as /put
-- sends one, when it has subscribers: routed once whatever their number.
-- Returns its subscribers (0: no message, no id).
function pg.publish(stream, subs, brokers, next, stats, from, c, body, ttl, maxlen)
  local n = redis.call('SCARD', subs)
  if n > 0 then
    local mid = pg.ms(redis.call('INCR', next))
    pg.route(stream, pg.channel_notify(brokers), mid, from, pg.chan_field(c),
      pg.ms(pg.now_ms() + ttl), '0', '0', body, maxlen)
    pg.outlive(stream, ttl)
    pg.count_in(stats)
  end
  return n
end

-- ---- the kept count (docs/DESIGN.md, "Counters") ----
-- pg:stats' kept is the sum of the kept field of every receiver's hash
-- (pg:dev:{r}) while the receiver is not connected: the messages of its
-- inbox not finished (after its cursor) nor freed. Each script that
-- changes that number changes both by the same delta.
function pg.kept_add(stats, dev, n)
  if n ~= 0 then
    redis.call('HINCRBY', dev, 'kept', n)
    redis.call('HINCRBY', stats, 'kept', n)
  end
end

function pg.kept_of(dev) return tonumber(redis.call('HGET', dev, 'kept') or '0') end

-- After pg.route added a message to receiver d's inbox: counted when d is
-- not connected (broker: its hash's 'broker'), and listed in set kept for
-- admin_sweep.lua. The inbox is capped (MAXLEN), and its unfinished
-- messages are its newest ones, so there are never more than its length.
function pg.keep(stats, kept, dev, d, broker, inbox)
  if broker and broker ~= '' then return end
  redis.call('SADD', kept, d)
  local n = pg.kept_of(dev)
  pg.kept_add(stats, dev, math.min(n + 1, redis.call('XLEN', inbox)) - n)
end

-- The messages of an inbox after the cursor in hash cur, not freed out of
-- order (set freed): read in chunks; at most the inbox's length, which
-- offline-max and offline-max-bytes bound.
function pg.inbox_unfinished(inbox, cur, freed)
  local c = redis.call('HGET', cur, 'in')
  local start, n = c and pg.cursor_start(c) or '-', 0
  local nfreed = redis.call('SCARD', freed)
  while true do
    local es = redis.call('XRANGE', inbox, start, '+', 'COUNT', 1000)
    for _, e in ipairs(es) do
      if nfreed == 0 or redis.call('SISMEMBER', freed, inbox .. ' ' .. e[1]) == 0 then
        n = n + 1
      end
    end
    if #es < 1000 then return n end
    start = '(' .. es[#es][1]
  end
end

-- ---- subscriptions (SUB, UNSUB, conn.call subscribe/unsubscribe) ----
-- k: a device's and a channel's keys, {dsubs = pg:dev:{d}:subs, csubs =
-- pg:ch:{c}:subs, cur = pg:dev:{d}:cur, stream = pg:ch:{c}, brokers =
-- pg:ch:{c}:brokers, dev = pg:dev:{d}, types = pg:ch:{c}:subs:types,
-- channels = pg:channels}.
function pg.sub_keys(keys, i)
  return {dsubs = keys[i], csubs = keys[i + 1], cur = keys[i + 2], stream = keys[i + 3],
    brokers = keys[i + 4], dev = keys[i + 5], types = keys[i + 6], channels = keys[i + 7]}
end

-- Device d subscribes to channel c; broker (nil: none) hears of its
-- messages from now on. Returns d's cursor in c: a new subscriber starts
-- after the newest entry. The caller checks max-subs (pg.sub_room).
function pg.sub(k, d, c, broker)
  redis.call('SADD', k.dsubs, c)
  if broker then redis.call('SADD', k.brokers, broker) end
  if redis.call('SADD', k.csubs, d) == 1 then pg.count_sub(k.types, k.dev, k.channels, c, 1) end
  local f = pg.chan_field(c)
  local cur = redis.call('HGET', k.cur, f)
  if not cur then
    local last = redis.call('XREVRANGE', k.stream, '+', '-', 'COUNT', 1)
    local at = #last > 0 and last[1][1] or '0-0'
    cur = pg.cursor(at, at)
    redis.call('HSET', k.cur, f, cur)
  end
  return cur
end

-- Whether device subscriptions set dsubs has room for channels cs (those
-- it does not hold yet) under max.
function pg.sub_room(dsubs, cs, max)
  local new = 0
  for _, c in ipairs(cs) do new = new + (1 - redis.call('SISMEMBER', dsubs, c)) end
  return new == 0 or redis.call('SCARD', dsubs) + new <= tonumber(max)
end

-- Device d leaves channel c (the broker leaves the channel's brokers when
-- its last local subscriber goes, brokerd/channel.c).
function pg.unsub(k, d, c)
  redis.call('SREM', k.dsubs, c)
  if redis.call('SREM', k.csubs, d) == 1 then pg.count_sub(k.types, k.dev, k.channels, c, -1) end
  redis.call('HDEL', k.cur, pg.chan_field(c))
end

-- ---- subscriber counts ----
-- Counts a subscriber of channel ch in (delta 1) or out (-1): per device
-- type in hash types (the type read from the device's hash dev), and in
-- sorted set channels, where a channel without subscribers is removed.
-- pg:topics holds the channels with subscribers in byte order (every
-- subscription change passes here, so lib.lua names it).
function pg.count_sub(types, dev, channels, ch, delta)
  redis.call('HINCRBY', types, redis.call('HGET', dev, 'type') or '0', delta)
  if redis.call('ZINCRBY', channels, delta, ch) + 0 <= 0 then
    redis.call('ZREM', channels, ch)
    redis.call('ZREM', pg.KEY_TOPICS, ch)
  elseif delta > 0 then
    redis.call('ZADD', pg.KEY_TOPICS, 0, ch)
  end
end

-- ---- a receiver's kept messages (adminhttp) ----
-- What its device would get over TCP: its inbox and its channels, read
-- from its cursors; k holds its keys (pg.receiver).
function pg.receiver(d)
  return {dev = pg.key_dev(d), inbox = pg.key_dev_in(d), subs = pg.key_dev_subs(d),
    cur = pg.key_dev_cur(d), freed = pg.key_dev_freed(d)}
end

-- The receiver whose keys are KEYS[1..5]: dev, inbox, subs, cur, freed.
function pg.receiver_keys(keys)
  return {dev = keys[1], inbox = keys[2], subs = keys[3], cur = keys[4], freed = keys[5]}
end

function pg.type_of(k) return redis.call('HGET', k.dev, 'type') or '0' end

-- Where reading stream `field` ('in' or a channel) starts; nil: not read.
function pg.start(k, field)
  local cur = redis.call('HGET', k.cur, field)
  if not cur then if field == 'in' then return '-' end return nil end
  return pg.cursor_start(cur)
end

-- Passed over: expired, or for another device type.
function pg.skip(f, now, ty)
  return tonumber(f.x or '0') <= now or (f.t and f.t ~= '0' and f.t ~= ty)
end

function pg.fields(e)
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  return f
end

-- For each stream s = {field, key} of receiver k, calls fn(s, id, fields)
-- on its entries not yet finished, oldest first, passing over skipped
-- ones and ones freed out of order; a true return moves on to the next
-- stream. At most limit entries are read per stream, and budget (if
-- given) in all.
function pg.unread(k, now, ty, limit, fn, budget)
  local list = {{'in', k.inbox}}
  local left = budget or limit * 1000000
  for _, c in ipairs(redis.call('SMEMBERS', k.subs)) do
    list[#list + 1] = {pg.chan_field(c), pg.key_ch(c)}
  end
  for _, s in ipairs(list) do
    local start = pg.start(k, s[1])
    if start and left > 0 then
      local es = redis.call('XRANGE', s[2], start, '+', 'COUNT', math.min(limit, left))
      left = left - #es
      for _, e in ipairs(es) do
        local f = pg.fields(e)
        if not pg.skip(f, now, ty) and
           redis.call('SISMEMBER', k.freed, s[2] .. ' ' .. e[1]) == 0 then
          if fn(s, e[1], f) then break end
        end
      end
    end
  end
end

-- How many messages receiver k keeps, reading at most 10,000 entries in
-- all (a device may subscribe to many full channels).
function pg.unread_count(k, now, ty)
  local n = 0
  pg.unread(k, now, ty, 10000, function() n = n + 1 return false end, 10000)
  return n
end

-- ---- upstream queues (docs/DESIGN.md, "Upstream queues") ----
-- Wakes every broker of set bks (a topic's :bk set) popping topic t.
function pg.q_wake(bks, t)
  for _, b in ipairs(redis.call('SMEMBERS', bks)) do
    redis.call('PUBLISH', pg.key_notice(b), pg.notice_wake(t))
  end
end

-- Pushes envelopes `envs` (oldest first) at the tail of topic t's list
-- (key q; bks its :bk set), each expiring ttl ms from now: capped at max
-- (the oldest go; the list expires ttl after its last push), and every
-- broker popping t is woken. Returns the list's length.
function pg.q_push(q, bks, t, envs, ttl, max, now)
  local exp = pg.ms(now + ttl) .. ' '
  local items = {}
  for i = 1, #envs do items[i] = exp .. envs[i] end
  local n = redis.call('RPUSH', q, unpack(items))
  if n > max then
    redis.call('LTRIM', q, -max, -1)
    n = max
  end
  pg.outlive(q, ttl)
  pg.q_wake(bks, t)
  return n
end

-- The conn.close event of client c (decimal id) whose broker n died: the
-- envelope brokerd's conn_event (brokerd/conn_events.c) writes with
-- jansson, {"e", "p": {n, c, t, ip, ts}, "id": null}.
function pg.conn_close_event(n, c, t, ip, ts)
  return '{"e":"conn.close","p":{"n":' .. n .. ',"c":"' .. c .. '","t":' .. cjson.encode(t) ..
    ',"ip":' .. cjson.encode(ip) .. ',"ts":' .. pg.ms(ts) .. '},"id":null}'
end

-- "<expire ms> <envelope>": its expiry and where the envelope begins.
function pg.q_expiry(e)
  local sp = string.find(e, ' ', 1, true)
  return tonumber(string.sub(e, 1, sp - 1)), sp + 1
end

-- Puts broker b's frames in flight `seqs` (in pop order) back at the head of
-- their topics' lists, in that order, and wakes the topics' brokers. A
-- list that had expired lives as long as its newest frame. Returns how
-- many went back (a seq already acknowledged is passed over).
function pg.q_requeue(b, seqs, now)
  if #seqs == 0 then return 0 end
  local h, ts, last, n = pg.key_qf(b), {}, {}, 0
  for i = #seqs, 1, -1 do
    local v = redis.call('HGET', h, seqs[i])
    if v then
      local sp = string.find(v, ' ', 1, true)
      local t, e = string.sub(v, 1, sp - 1), string.sub(v, sp + 1)
      redis.call('LPUSH', pg.key_q(t), e)
      if not last[t] then ts[#ts + 1] = t last[t] = 0 end
      last[t] = math.max(last[t], (pg.q_expiry(e)))
      n = n + 1
    end
  end
  redis.call('HDEL', h, unpack(seqs))
  redis.call('ZREM', pg.key_qf_z(b), unpack(seqs))
  for _, t in ipairs(ts) do
    local q, left = pg.key_q(t), last[t] - now
    left = math.max(left, 1)
    if redis.call('PTTL', q) < left then redis.call('PEXPIRE', q, left) end
    pg.q_wake(pg.key_q_bk(t), t)
  end
  return n
end
