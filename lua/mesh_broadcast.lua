-- brokerd: mesh.broadcast (SPEC 5.4, 5.5 "Sends"): one message (an id from
-- /put's counter, from 0, no channel) announced to every broker with the
-- notice B; each writes it to its connected clients and answers its count
-- to the caller's broker (broker_bcount.lua). Nothing is stored: it is
-- never kept for a device that is not connected.
-- KEYS: pg:next_put_id, pg:brokers, pg:stats.
-- ARGV: the caller's broker id, its request seq, the body.
-- Returns {'ok', message id, brokers}: the brokers the notice reached
-- (PUBLISH's count, summed), as many as will answer.
local mid = pg.ms(redis.call('INCR', KEYS[1]))
local notice = pg.notice_bcast(mid, pg.ms(pg.now_ms()), ARGV[1], ARGV[2], ARGV[3])
local n = 0
for _, b in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  n = n + redis.call('PUBLISH', pg.key_notice(b), notice)
end
pg.count_in(KEYS[3])
return pg.reply('ok', mid, tostring(n))
