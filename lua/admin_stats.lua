-- adminhttp: the cluster's numbers (GET /stats, /metrics, MSG_STAT_REQ),
-- once a second and on each request: counters only, O(brokers) (nothing
-- here walks devices, channels or messages; docs/DESIGN.md, "Counters").
-- kept: messages kept for receivers that are not connected (pg.kept_add).
-- KEYS: pg:brokers, pg:stats, pg:devices, pg:channels.
-- ARGV: none.
-- Returns {'ok', now, brokers, devices, channels, messages_in,
-- messages_out, kept}; each broker (event loop) {id, addr, conns, started,
-- hb, in, out, pending, process, alive ('1'/'0'), WebSocket clients,
-- services, WebSocket address ('' none)}.
local now = pg.now_ms()
local bs = {}
for _, b in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', pg.key_bk(b), 'addr', 'conns', 'started', 'hb',
    'messages_in', 'messages_out', 'messages_pending', 'proc', 'ws_clients', 'ws_services', 'ws')
  if v[1] then
    bs[#bs + 1] = {b, v[1], v[2] or '0', v[3] or '0', v[4] or '0', v[5] or '0', v[6] or '0',
      v[7] or '0', v[8] or b, pg.live(v[4] or '0', now) and '1' or '0', v[9] or '0',
      v[10] or '0', v[11] or ''}
  end
end
local st = redis.call('HMGET', KEYS[2], 'messages_in', 'messages_out', 'kept')
return pg.reply('ok', now, bs, redis.call('SCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  st[1] or '0', st[2] or '0', math.max(0, tonumber(st[3] or '0')))
