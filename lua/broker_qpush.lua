-- brokerd: upstream frames of clients for topic t, read in one loop pass,
-- oldest first. Kept at the tail of the topic's list (capped, the oldest
-- go; the list expires ttl after its last push), and every broker popping
-- the topic is woken.
-- KEYS: pg:q:{t}, pg:q:{t}:bk.
-- ARGV: topic, ttl ms, offline-max, then the envelopes.
-- Returns {'ok', the list's length}.
local exp = pg.ms(pg.now_ms() + tonumber(ARGV[2])) .. ' '
local items = {}
for i = 4, #ARGV do items[#items + 1] = exp .. ARGV[i] end
local n = redis.call('RPUSH', KEYS[1], unpack(items))
local max = tonumber(ARGV[3])
if n > max then
  redis.call('LTRIM', KEYS[1], -max, -1)
  n = max
end
pg.outlive(KEYS[1], tonumber(ARGV[2]))
pg.q_wake(KEYS[2], ARGV[1])
return pg.reply('ok', n)
