/* Every Redis key and pub/sub channel name pushgate's C code uses, and the
 * decimal arguments sent with them. The one place in C that spells "pg:";
 * lua/lib.lua is the one place in Lua. The layout is in docs/DESIGN.md
 * ("Redis keys"). Each builder writes into a caller's buffer and returns it,
 * so that a call reads as the key it makes: key_dev_subs(k, id). */
#ifndef PG_KEYS_H
#define PG_KEYS_H
#include <stdint.h>

#define KEY_MAX 416              /* longest: "pg:ch:" + a 128-byte name escaped + ":subs:types" */
#define ARG_INT_MAX 24           /* "-9223372036854775808" and a NUL */

/* Keys without an id. */
#define KEY_BROKERS "pg:brokers"      /* set of broker ids */
#define KEY_CHANNELS "pg:channels"    /* channels by subscriber count */
#define KEY_DEVICES "pg:devices"      /* every known device */
#define KEY_KEPT "pg:kept"            /* devices that may hold offline messages */
#define KEY_STATS "pg:stats"          /* cluster counters */
#define KEY_API_CLIENTS "pg:api:clients"        /* API clients that said HELO */
#define KEY_NEXT_DEVICE_ID "pg:next_device_id"  /* the last device id given */
#define KEY_NEXT_PUT_ID "pg:next_put_id"        /* the last /put message id */
#define KEY_LIMITS "pg:limits"        /* gateway.limit: accept_per_s, messages_per_s */

char *key_dev(char buf[KEY_MAX], int64_t device);         /* pg:dev:{d} */
char *key_dev_subs(char buf[KEY_MAX], int64_t device);    /* pg:dev:{d}:subs */
char *key_dev_cur(char buf[KEY_MAX], int64_t device);     /* pg:dev:{d}:cur */
char *key_dev_in(char buf[KEY_MAX], int64_t device);      /* pg:dev:{d}:in */
/* A channel's keys take its name, '%' and ':' escaped as %25 and %3A so
 * that no name spells another channel's key (docs/DESIGN.md, "Channel
 * names"); the int64 forms are those of a channel id, the same bytes. */
char *key_ch(char buf[KEY_MAX], int64_t channel);         /* pg:ch:{c} */
char *key_ch_subs(char buf[KEY_MAX], int64_t channel);    /* pg:ch:{c}:subs */
char *key_ch_brokers(char buf[KEY_MAX], int64_t channel); /* pg:ch:{c}:brokers */
char *key_chn(char buf[KEY_MAX], const char *name);          /* pg:ch:{c} */
char *key_chn_subs(char buf[KEY_MAX], const char *name);     /* pg:ch:{c}:subs */
char *key_chn_brokers(char buf[KEY_MAX], const char *name);  /* pg:ch:{c}:brokers */
char *key_chn_subs_types(char buf[KEY_MAX], const char *name); /* pg:ch:{c}:subs:types */
char *key_dupw(char buf[KEY_MAX], int64_t from);            /* pg:dupw:{from} (lua/lib.lua adds :{window}) */
char *key_dups(char buf[KEY_MAX], int64_t from);             /* pg:dups:{from} */
/* A mesh send's (sender, mid): pg:mdup:{from}:{mid}, and pg:mdup:s:{mid}
 * for from 0 (every service is one sender, SPEC 5.5). */
char *key_mesh_dup(char buf[KEY_MAX], int64_t from, int64_t mid);
char *key_bk(char buf[KEY_MAX], int64_t broker);          /* pg:bk:{b} */
/* A broker's pub/sub channel of notices: pg:n:bk:{b}. */
char *key_notice(char buf[KEY_MAX], int64_t broker);
/* A stream a device reads: its inbox (channel 0) or a channel's. */
char *key_stream(char buf[KEY_MAX], int64_t device, int64_t channel);

/* A decimal argument for a Redis command. */
char *arg_int(char buf[ARG_INT_MAX], int64_t v);

char *key_dev_freed(char buf[KEY_MAX], int64_t device);       /* pg:dev:{d}:freed */
char *key_ch_subs_types(char buf[KEY_MAX], int64_t channel);  /* pg:ch:{c}:subs:types */

#define SERIAL_MAX 64                         /* longest serial_no */
#define KEY_SERIAL_MAX (KEY_MAX + SERIAL_MAX)
/* pg:serial:{type}:{serial}; NULL when serial is longer than SERIAL_MAX. */
char *key_serial(char buf[KEY_SERIAL_MAX], int64_t type, const char *serial);

/* Upstream queues (docs/DESIGN.md, "Upstream queues"). */
#define KEY_QF_BROKERS "pg:qf:brokers"   /* brokers that may hold frames in flight */
#define TOPIC_MAX 128                    /* a topic name's bytes (SPEC 5.2) */
#define KEY_TOPIC_MAX (KEY_MAX + TOPIC_MAX)
/* NULL when topic is longer than TOPIC_MAX. */
char *key_q(char buf[KEY_TOPIC_MAX], const char *topic);      /* pg:q:{t} */
char *key_q_bk(char buf[KEY_TOPIC_MAX], const char *topic);   /* pg:q:{t}:bk */
char *key_qf(char buf[KEY_MAX], int64_t broker);              /* pg:qf:{b} */
char *key_qf_z(char buf[KEY_MAX], int64_t broker);            /* pg:qf:{b}:z */
char *key_qf_n(char buf[KEY_MAX], int64_t broker);            /* pg:qf:{b}:n */

/* The presence and topic indexes (docs/DESIGN.md, "Presence and topic
 * indexes"). */
#define KEY_ONLINE "pg:online"                   /* connected clients, score 0 */
#define KEY_ONLINE_BROKERS "pg:online:brokers"   /* brokers whose set may hold ids */
#define KEY_TOPICS "pg:topics"                   /* channels with subscribers, score 0 */
char *key_online_bk(char buf[KEY_MAX], int64_t broker);       /* pg:online:bk:{b} */
/* A member of pg:online: the id zero-padded to 19 digits (byte order is
 * numeric order); arg_online_id reads one back (-1: not one). */
char *arg_online(char buf[ARG_INT_MAX], int64_t id);
int64_t arg_online_id(const char *member, size_t len);

#endif
