-- brokerd: upstream frames of clients for topic t, read in one loop pass,
-- oldest first. Kept at the tail of the topic's list (capped, the oldest
-- go; the list expires ttl after its last push), and every broker popping
-- the topic is woken (pg.q_push).
-- KEYS: pg:q:{t}, pg:q:{t}:bk.
-- ARGV: topic, ttl ms, offline-max, then the envelopes.
-- Returns {'ok', the list's length}.
local envs = {}
for i = 4, #ARGV do envs[#envs + 1] = ARGV[i] end
return pg.reply('ok', pg.q_push(KEYS[1], KEYS[2], ARGV[1], envs, tonumber(ARGV[2]),
  tonumber(ARGV[3]), pg.now_ms()))
