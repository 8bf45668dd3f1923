-- routerd, first on each connection to a master found through the
-- sentinels: the id counters move past every id an earlier master may have
-- given out and the new one never heard of (docs/DESIGN.md, "Redis high
-- availability"), so no id is given to two messages or devices.
-- KEYS: the counters (pg:next_put_id, pg:next_device_id).
-- ARGV: none.
-- Returns {'ok', the /put counter}.
for i = 1, #KEYS do pg.id_floor(KEYS[i]) end
return pg.reply('ok', redis.call('GET', KEYS[1]))
