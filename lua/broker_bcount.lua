-- brokerd: a broker's answer to a broadcast notice (mesh_broadcast.lua):
-- how many of its clients the message was written to, told to the
-- broker that asked.
-- KEYS: pg:n:bk:{asking broker}.
-- ARGV: the request's seq, the count.
-- Returns {'ok', brokers that heard it}.
return pg.reply('ok', redis.call('PUBLISH', KEYS[1], pg.notice_bcount(ARGV[1], ARGV[2])))
