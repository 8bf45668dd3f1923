-- brokerd: topic.members and topic.member_count (SPEC 5.4): the devices
-- subscribed to each channel, connected or not (a channel nobody
-- subscribes to has none). Members are at most ARGV[1] per channel
-- (SRANDMEMBER: all of them when there are no more, otherwise that many
-- of them), so the reply is bounded whatever the subscribers.
-- KEYS: for each channel, pg:ch:{c}:subs.
-- ARGV: 'count' (member_count), or the most members per channel.
-- Returns {'ok', per channel its count, or {its members}}.
local out = {}
for i = 1, #KEYS do
  if ARGV[1] == 'count' then
    out[i] = redis.call('SCARD', KEYS[i])
  else
    out[i] = redis.call('SRANDMEMBER', KEYS[i], ARGV[1])
  end
end
return pg.reply('ok', out)
