-- brokerd: UNSUB (SPEC 2.2). Device d leaves channel c.
-- KEYS: as broker_sub.lua's (pg:ch:{c} and pg:ch:{c}:brokers untouched:
--       the broker leaves the channel's brokers when its last local
--       subscriber goes, brokerd/channel.c).
-- ARGV: as broker_sub.lua's (broker id and max subscriptions unused).
-- Returns {'ok'}.
pg.unsub(pg.sub_keys(KEYS, 1), ARGV[1], ARGV[2])
return pg.reply('ok')
