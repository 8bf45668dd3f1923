-- brokerd: conn.info (SPEC 5.4): for each device, its broker when it is
-- connected (its hash names a broker whose process still listens: one
-- killed is not), its connection's context and its subscriptions. A
-- device never known has none of it. Bounded: the ids (MESH_MAX_ITEMS),
-- each with at most max-subs subscriptions.
-- KEYS: for each device, pg:dev:{d} and pg:dev:{d}:subs.
-- ARGV: none.
-- Returns {'ok', {broker ('' offline), context ('' none), {channels}}...}
-- in the order of the keys.
local out = {}
for i = 1, #KEYS, 2 do
  local v = redis.call('HMGET', KEYS[i], 'broker', 'ctx')
  local bk = v[1] or ''
  if bk ~= '' and not pg.listening(bk) then bk = '' end
  out[#out + 1] = {bk, bk ~= '' and v[2] or '', redis.call('SMEMBERS', KEYS[i + 1])}
end
return pg.reply('ok', out)
