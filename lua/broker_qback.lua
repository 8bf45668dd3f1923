-- brokerd: a service left (closed, or queue.unpop): its frames in flight
-- that its socket had not taken go back to the head of their topics, in
-- order, and the brokers popping them are woken; broker b leaves the
-- topics no local service pops any more (first, so that it is not woken
-- for them).
-- KEYS: pg:qf:{b}, pg:qf:{b}:z, then pg:q:{t}:bk of each topic b leaves.
-- ARGV: broker id, then the seqs in pop order.
-- Returns {'ok', how many went back}.
for i = 3, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
local seqs = {}
for i = 2, #ARGV do seqs[#seqs + 1] = ARGV[i] end
return pg.reply('ok', pg.q_requeue(ARGV[1], seqs, pg.now_ms()))
