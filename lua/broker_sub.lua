-- brokerd: SUB (SPEC 2.2). Device d subscribes to channel c.
-- KEYS: pg:dev:{d}:subs, pg:ch:{c}:subs, pg:dev:{d}:cur, pg:ch:{c},
--       pg:ch:{c}:brokers, pg:dev:{d}, pg:ch:{c}:subs:types, pg:channels.
-- ARGV: device id, channel, broker id, max subscriptions per device.
-- Returns {'ok', the device's cursor in the channel}: a new subscriber
-- starts after the newest entry; {'toomany'} (nothing done) when the
-- device already has the max of subscriptions and this is not one. The broker hears of the channel's
-- messages from now on. Subscriber counts are kept per device type (for
-- /put's device_type filter) and per channel (pg:channels, the dashboard's
-- busiest channels).
if not pg.sub_room(KEYS[1], {ARGV[2]}, ARGV[4]) then return pg.reply('toomany') end
return pg.reply('ok', pg.sub(pg.sub_keys(KEYS, 1), ARGV[1], ARGV[2], ARGV[3]))
