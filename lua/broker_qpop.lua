-- brokerd: pops up to count frames of topic t for the local services that
-- pop it, oldest first, passing over expired ones. What it returns is in
-- flight: in broker b's hash under seqs first..first+n-1 until
-- broker_qack (taken by a service's socket) or broker_qback (handed back).
-- With join, b joins the topic's brokers first (woken by each push), in
-- the same step as its first read, so no push falls between the two.
-- KEYS: pg:q:{t}, pg:q:{t}:bk, pg:qf:{b}, pg:qf:{b}:z, pg:qf:{b}:n,
--       pg:qf:brokers.
-- ARGV: broker id, topic, count (1..1000), join ('1' or '0').
-- Returns {'ok', frames left in the list, first seq, envelopes...}.
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) end
local es = redis.call('LPOP', KEYS[1], ARGV[3])
local now, out = pg.now_ms(), {}
for _, e in ipairs(es or {}) do
  local exp, at = pg.q_expiry(e)
  if exp > now then out[#out + 1] = e end
end
local left = redis.call('LLEN', KEYS[1])
if #out == 0 then return pg.reply('ok', left, 0) end
local first = redis.call('INCRBY', KEYS[5], #out) - #out + 1
local h, z, r = {}, {}, {'ok', left, first}
for i, e in ipairs(out) do
  local seq = first + i - 1
  h[#h + 1] = seq
  h[#h + 1] = ARGV[2] .. ' ' .. e
  z[#z + 1] = seq
  z[#z + 1] = seq
  r[#r + 1] = string.sub(e, (select(2, pg.q_expiry(e))))
end
redis.call('HSET', KEYS[3], unpack(h))
redis.call('ZADD', KEYS[4], unpack(z))
redis.call('SADD', KEYS[6], ARGV[1])
return r
