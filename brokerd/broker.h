/* brokerd: holds device connections and speaks the protocol of SPEC 2.
 * Structs first, then prototypes grouped per file. */
#ifndef PG_BROKER_H
#define PG_BROKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "cfg.h"
#include "chan.h"
#include "clock.h"
#include "daemon.h"
#include "frame.h"
#include "http_server.h"
#include "imap.h"
#include "keys.h"
#include "slab.h"
#include "log.h"
#include "listener.h"
#include "loops.h"
#include "net.h"
#include "proto_errors.h"
#include "queue.h"
#include "rconn.h"
#include "sentinel.h"

struct bufferevent;
struct evbuffer;
struct evconnlistener;
struct evhttp;
struct redisAsyncContext;
struct redisReply;
struct command;
struct ssl_ctx_st;

/* ---- configuration (conf.c) ---- */

struct broker_conf {
    struct cfg_addr redis;
    struct cfg_redis_ha redis_ha;
    enum log_level log_level;
    struct cfg_addr tcp_address;
    struct cfg_addr http_address;
    char *broadcast_address;
    uint64_t broker_id;
    uint64_t msg_timeout;       /* seconds */
    uint64_t max_msg_size;      /* bytes */
    char *secret;
    char *ws_address;           /* host:port of the mesh port; empty: off */
    char *ws_broadcast_address; /* given to WebSocket clients by /registration */
    char *service_token;
    uint64_t max_pending;       /* un-FINed messages per connection */
    uint64_t max_subs;          /* subscriptions per device (SUB past it is refused) */
    uint64_t max_dedup_per_sender; /* PUBs one sender may have accepted per 10 minutes (0: any) */
    uint64_t max_output_bytes;  /* output queued per connection (a client over it is closed) */
    uint64_t offline_max;       /* entries kept per stream */
    uint64_t offline_ttl;       /* seconds */
    uint64_t threads;           /* event loops; 0: one per core */
    uint64_t max_connections;   /* device connections per process */
    uint64_t accept_per_s;      /* SPEC 5.4 limits until Redis sets them (0: none) */
    uint64_t messages_per_s;
    char *tls_cert, *tls_key;   /* PEM files: TLS is offered when both are set */
    int tls_required;           /* IDENTIFY without "tls_v1":true is refused */
    int ws_tls;                 /* the mesh port speaks TLS (wss://, https://) */
    int deflate;                /* deflate is offered */
    uint64_t max_deflate_level;
    struct http_limits http;
    char *config;
};

extern const struct cfg_program broker_cfg_program;

/* ---- a stream position: a Redis stream entry id ---- */

struct eid {
    uint64_t ms;
    uint64_t seq;
};

/* ---- one message, shared by every connection it is written to ---- */

struct msg {
    int refs;
    /* A PUB written before Redis had it (pub_fast.c): unconfirmed while
     * eid is the proposal P-0; dead when Redis did not take it (its
     * records are dropped). */
    uint8_t unconfirmed, dead;
    struct frame_msg_meta meta;  /* attempt 1 */
    struct eid eid;
    int64_t expire_ms;           /* 0: never */
    int64_t stream;              /* 0: the device's inbox, else the channel */
    int type_filter;             /* deliver only to this device type; 0: all */
    const char *chname;          /* its channel's name when that is not an id; else NULL */
    /* The attempt-1 message event as a WebSocket frame, built the first
     * time a WebSocket client gets m (ws_msg.c); NULL until then. */
    char *ws1;
    size_t ws1_len;
    /* Encoded attempt-1 frame (header + line + body), then the body alone
     * is frame1 + body_off; chname follows. */
    size_t frame1_len;
    size_t body_off;
    char frame1[];
};

/* The stream of a message that is in none (mesh.broadcast's): no
 * session reads it, so its pending records move no cursor. */
#define MSG_STREAM_NONE INT64_MIN

/* Channel messages delivered together, session by session (deliver.c). */
#define DELIVER_BATCH_MAX 128

/* ---- per-connection state of one stream the device reads ---- */

/* CATCHING_UP: an XRANGE is queued or in flight; MISSED: a notice came
 * meanwhile; BEHIND: skipped for max-pending; QUEUED: waiting in the
 * loop's catch-up queue (catch_up.c). */
enum { SS_CATCHING_UP = 1, SS_MISSED = 2, SS_BEHIND = 4, SS_QUEUED = 8,
       SS_FAST = 16, /* the stream may hold fast records (pub_fast.c) */
       SS_FRESH = 32 /* joined here; its barrier is not passed (pub_barrier.c) */ };

struct stream_state {
    int64_t channel;             /* 0: inbox */
    struct eid sent;             /* everything up to here was sent or skipped */
    struct eid fresh_after;      /* entries after this were never sent before: attempt 1 */
    uint32_t flags;
    uint32_t chan_pos;           /* index in the channel's subscriber vector */
};

struct pending {
    TAILQ_ENTRY(pending) link;   /* the connection's list, oldest first */
    TAILQ_ENTRY(pending) due;    /* the loop's list, by deadline */
    struct session *conn;
    struct msg *msg;
    int64_t deadline_ms;         /* mono_ms() */
    int32_t attempt;
    /* Written before Redis had it and not yet covered by its stream's
     * position; FINed meanwhile (kept till covered) (pub_fast.c). */
    uint8_t fast, finished;
};

TAILQ_HEAD(pending_list, pending);

/* ---- a device on this broker, whatever carries its bytes (session.c) ----
 *
 * A session is what a device is here: its id, streams, pending messages and
 * timeouts. How its bytes travel is its transport's business (tcp.c: the
 * text protocol over a bufferevent), reached through the ops below; the
 * transport's own struct begins with the session. See docs/DESIGN.md
 * ("Layers"). */

enum session_state {
    CS_OPEN,           /* reading commands */
    CS_WAIT_REDIS,     /* a command is waiting for Redis; input paused */
    CS_FATAL_WAIT,     /* a fatal error waits for the Acks of earlier PUBs */
    CS_CLOSING,        /* the last frames go out, then the transport closes;
                          input is read and dropped */
    CS_DEAD,           /* closed, freed at a safe point */
};

struct session;

/* What a session asks of its transport. Writes queue; they go out at the
 * end of the loop pass (output.c calls flush). */
struct transport_ops {
    /* Message m, delivery attempt `attempt`, in the transport's encoding;
     * 0, or -1 if s takes no more writes (checked here, so that a delivery
     * costs one call). */
    int (*write_msg)(struct session *s, struct msg *m, int64_t attempt);
    void (*response)(struct session *s, const char *text);
    void (*error)(struct session *s, enum proto_error err, const char *reason);
    void (*ack)(struct session *s, int ok, int64_t message_id, int64_t client_id);
    /* Whether writes are still taken (not once the write side is shut). */
    int (*writable)(const struct session *s);
    /* Bytes queued for the peer and not yet taken by the kernel. */
    size_t (*queued)(const struct session *s);
    /* Writes what is queued (end of the loop pass). */
    void (*flush)(struct session *s);
    /* CS_CLOSING began: close once what is queued is out. */
    void (*finish)(struct session *s);
    /* Close now, dropping what is queued (the session is CS_DEAD). */
    void (*close)(struct session *s);
    /* Input may be read again (a Redis reply came). */
    void (*resume)(struct session *s);
    /* After IDENTIFY's reply (SPEC 2.8): TLS (tls) and then deflate at
     * level (0: none) from here on, both ways. 0, or -1 when the layers
     * could not be made (then close s). NULL: the transport has none. */
    int (*upgrade)(struct session *s, int tls, int level);
    /* Nothing was heard for twice the heartbeat interval: close. */
    void (*silent)(struct session *s);
    /* The socket under s (its peer's address for conn.open/conn.close),
     * or -1 once closed. */
    int (*fd)(const struct session *s);
};

/* Past this much output queued, a session's input is not read and
 * redelivery writes nothing more to it (a client that does not read). */
#define SESSION_OUTPUT_PAUSE_BYTES (256 * 1024)

/* Kept small: an idle device costs this, its transport's part and its
 * socket's buffers. */
/* A connection's count of messages in a one-second window (limits.c):
 * the window's second modulo 4096 and the count, in 4 bytes. */
struct limits_rate {
    uint32_t window : 12;
    uint32_t count : 20;         /* up to LIMITS_MAX + 1 */
};

struct session {
    struct broker *b;
    const struct transport_ops *ops;
    int64_t client_id;           /* 0 until identified */
    uint64_t nonce;              /* unique per identified connection of this loop */
    /* mono_ms() the timeout counts from: the connection until it identifies
     * (IDENTIFY timeout), then its last input (heartbeat), and once
     * closing, when that began (grace). One field for three: the session
     * is in one of those phases at a time, and 8 bytes each. */
    int64_t timer_ms;
    int32_t heartbeat_ms;
    int32_t redis_refs;          /* Redis replies that will call back with it (store_call),
                                    and catch-up queue items naming it */
    /* PUBs waiting for Redis (cmd_pub.c; at most PUB_PIPELINE), and of
     * npending the FINed ones kept until covered (pub_fast.c), which take
     * no room (at most max-pending, under 2^24) */
    uint32_t pubs_in_flight : 8;
    uint32_t nfinished : 24;
    uint32_t npending;           /* in pend */
    uint8_t state;               /* enum session_state */
    uint8_t device_type;         /* from /registration; 0: not registered */
    uint8_t feature_negotiation;
    /* flags, one bit each (they share a byte: the struct keeps its size
     * with the rate counter below) */
    uint8_t cursors_dirty : 1;
    uint8_t registered : 1;      /* in b->clients, or b->identifying until it is */
    uint8_t in_flush : 1;        /* on b->flush (output.c) */
    uint8_t behind : 1;          /* a stream may be SS_BEHIND (pending.c) */
    uint8_t pub_fast : 1;        /* its PUBs may be written before Redis has them */
    uint8_t replacing : 1;       /* an IDENTIFY of its id is in flight here */
    uint8_t fresh : 1;           /* registered here; its barrier is not passed (pub_barrier.c) */
    /* messages_per_s: the messages counted in the current second (limits.c) */
    struct limits_rate rate;
    /* the command being run: its parsed arguments (IDENTIFY keeps the
     * client id in args[0] while Redis answers) */
    int64_t args[3];
    /* streams: [0] is the inbox, then one per subscribed channel */
    struct stream_state *streams;
    uint32_t nstreams, capstreams;
    /* un-FINed messages, oldest first */
    struct pending_list pend;
    /* all sessions; once closed, next links the list to free */
    struct session *next, *prev;
};

/* ---- the TCP transport (tcp.c): SPEC 2's text protocol on a bufferevent ---- */

enum tcp_input {
    TCP_MAGIC,         /* waiting for "  V1" */
    TCP_LINE,          /* waiting for a command line */
    TCP_BODY,          /* waiting for the body of a command that has one */
};

struct tcp_conn {
    struct session s;            /* first: a session is its tcp_conn */
    struct bufferevent *bev;     /* NULL once closed */
    uint8_t input;               /* enum tcp_input */
    uint8_t lingering;           /* write side shut; input dropped until the peer's EOF */
    uint8_t body_refused;        /* the line was refused: read and drop its body */
    uint8_t body_cmd;            /* the command whose body is awaited (cmd.c's index) */
    uint8_t layered;             /* TLS or deflate is stacked: bev is the top (layers.h) */
    uint8_t flushing;            /* tcp_flush is writing the socket */
};

/* ---- a channel with local subscribers (channel.c) ---- */

struct channel {
    int64_t id;                  /* its handle: a channel id, or < 0 for another name */
    struct session **conns;
    uint32_t n, cap;
    char *name;                  /* a name that is not an id; else NULL */
    struct channel *hnext;       /* the next name of the same hash (b->names) */
};

/* ---- streams waiting for a catch-up read (catch_up.c) ---- */

struct catch_up_item {
    struct session *c;           /* held: counted in its redis_refs */
    int64_t channel;
};

struct catch_up_queue {
    struct catch_up_item *items; /* a ring */
    uint32_t head, n, cap;
    uint32_t in_flight;          /* reads waiting for Redis */
    struct event *ev;            /* the next pass */
};

/* ---- counters for /stats and /metrics ---- */

struct broker_stats {
    uint64_t connections_total;
    uint64_t messages_in;        /* PUB answered ACK 1 */
    uint64_t pubs_in;            /* of those, PUBs: pg:stats' messages_in gets them at the beat */
    uint64_t messages_out;       /* Message frames written */
    uint64_t messages_fast;      /* PUBs written to their device before Redis had them */
    uint64_t messages_handed;    /* PUBs handed to a sibling loop to write first */
    uint64_t redeliveries;
    uint64_t redeliveries_deferred;  /* not written: the output was over the pause mark */
    uint64_t output_overflows;   /* clients closed for max-output-bytes */
    uint64_t fins;
    uint64_t protocol_errors;
    uint64_t redis_reconnects;
};

/* ---- Redis glue (store.c) ---- */

enum store_script {
    SCRIPT_IDENTIFY,
    SCRIPT_GONE,
    SCRIPT_SUB,
    SCRIPT_UNSUB,
    SCRIPT_PUB,
    SCRIPT_BEAT,
    SCRIPT_SEND,                 /* mesh.send */
    SCRIPT_CONTEXT,              /* conn.call set_context(_value) */
    SCRIPT_QPUSH,
    SCRIPT_QPOP,
    SCRIPT_QACK,
    SCRIPT_QBACK,
    SCRIPT_QRECLAIM,
    SCRIPT_MESH_PUBLISH,         /* mesh.publish */
    SCRIPT_MESH_SUBSCRIBE,       /* conn.call subscribe */
    SCRIPT_MESH_UNSUBSCRIBE,     /* conn.call unsubscribe */
    SCRIPT_MESH_SEND_MANY,       /* mesh.multicast, mesh.send_bulk */
    SCRIPT_MESH_PUBLISH_BULK,    /* mesh.publish_bulk */
    SCRIPT_MESH_BROADCAST,       /* mesh.broadcast */
    SCRIPT_BCOUNT,               /* a broker's count of a broadcast */
    SCRIPT_REAP,                 /* the presence index of dead brokers */
    SCRIPT_MESH_INFO,            /* conn.info */
    SCRIPT_MESH_MEMBERS,         /* topic.members, topic.member_count */
    SCRIPT_MESH_OFFLINE,         /* conn.offline, conn.offline_guests */
    SCRIPT_MESH_INFO_DELETE,     /* conn.info_delete */
    SCRIPT_MESH_TOPIC_DELETE,    /* topic.delete, one step */
    SCRIPT_STATS,                /* gateway.metrics: adminhttp's admin_stats.lua */
    SCRIPT_MESH_LIMIT,           /* gateway.limit */
    SCRIPT_COUNT,
};

struct store {
    struct rconn cmd;            /* scripts, reads, writes */
    struct rconn sub;            /* pub/sub notices */
    struct sentinel sentinel;    /* with --redis-sentinels: both follow it */
    int sub_ready;               /* this broker's notice channel confirmed */
    int resynced;                /* the resync after the last connect ran */
    int ever_ready;              /* Redis was ready once (the first resync ran) */
};

/* What /stats reads of a loop from another thread (under proc->lock). */
struct broker_snapshot {
    uint64_t nconns, nidentified, channels, npending;
    uint64_t ws_clients, ws_services, ws_upgrades, mesh_calls;
    struct broker_stats stats;
};

/* ---- deliver first across the loops of one process ---- */

/* pub_barrier.c: a device registered on a loop takes no PUB written first
 * until every loop of the process has sent an order mark after its
 * registration and this loop has them back. Epochs: done <= waiting <=
 * next; the devices of one epoch wait for the same marks. */
struct pub_barrier_entry {
    int64_t client_id;
    uint64_t nonce;
    int64_t channel;             /* a stream it joined (SS_FRESH); 0: the session */
    uint32_t epoch;
};
struct pub_barrier {
    uint64_t wait_need[LOOPS_MAX];   /* the marks epoch `waiting` needs */
    uint64_t next_need[LOOPS_MAX];   /* and those of epoch `next` */
    uint32_t done, waiting, next;
    int64_t asked_ms;                /* mono_ms() the marks were last asked for */
    struct pub_barrier_entry *ring;  /* sessions whose fresh bit is set, by epoch */
    uint32_t head, n, cap;
};

/* handoff.c: a PUB read on one loop for a device (or a channel's few
 * subscribers) of a sibling loop goes to it in memory, not by Redis. */
enum handoff_kind { HANDOFF_WRITE, HANDOFF_DROP /* its write failed in Redis */ };
struct handoff_item {
    struct handoff_item *next;
    uint8_t kind;                /* enum handoff_kind */
    uint8_t src;                 /* the sender's loop */
    int64_t to, channel, from, mid;
    uint64_t at;                 /* the ms proposed for its entry id */
    uint64_t mark_wait;          /* the sender's loop's order mark it waits for */
    int64_t held_ms;             /* mono_ms() it was held */
    size_t len;
    char body[];
};
struct handoff_inbox {
    pthread_mutex_t lock;
    struct handoff_item *head, *tail;   /* pushed by sibling loops */
    struct loop_wake wake;       /* a push to an empty inbox wakes the loop */
    _Atomic int want_mark;       /* a sibling's barrier asks for an order mark */
};
/* Handed-over PUBs not written at once (their target busy): delivered as
 * their notice when their F comes, in the order the notices come. */
struct handoff_held {
    struct handoff_item *head, *tail;
    uint32_t n;
    struct imap devices;         /* client id -> count held */
    struct imap channels;        /* channel id -> count held */
    struct imap senders;         /* sender's client id -> count held */
};
/* The process's index of who is where (handoff.c), under its lock. */
struct handoff_dir {
    pthread_mutex_t lock;
    struct imap devices;         /* client id -> loop index + 1 */
    struct imap channels;        /* channel id -> mask of loops with subscribers */
};

/* ---- the broker: one event loop's whole state ---- */

struct broker_proc;

struct broker {
    struct broker_conf conf;
    struct broker_proc *proc;
    int index;                   /* 0..threads-1; loop 0 serves HTTP and signals */
    struct event_base *base;
    struct listener listener;
    struct event *tick_ev;
    /* Channel messages read from Redis and not yet written (deliver.c). */
    struct msg *batch[DELIVER_BATCH_MAX];
    unsigned nbatch;
    struct event *batch_ev;      /* writes the batch once the read is done */
    struct catch_up_queue catch_up;
    /* Sessions written to in this loop pass (output.c). */
    struct session **flush;
    uint32_t nflush, capflush;
    struct event *flush_ev;
    struct loop_wake wake;       /* another thread stops this loop through it */
    struct daemon_signals signals;
    char broadcast[CFG_HOST_MAX + 8];
    char tcp_bound[CFG_HOST_MAX + 8];
    int64_t id;
    int64_t started_ms;
    uint64_t next_nonce;
    struct session *conns;          /* list of all */
    _Atomic uint32_t nconns;     /* other loops add them up (loop.c) */
    uint32_t nidentified;
    struct session *dead;           /* closed, not yet freed */
    struct imap clients;         /* client_id -> struct session * */
    /* nonce -> struct session * whose IDENTIFY script has not answered: an
     * older connection of its id stays in clients until it does */
    struct imap identifying;
    struct imap channels;        /* channel handle -> struct channel * */
    struct imap names;           /* hash of a name that is not an id -> struct channel * */
    int64_t last_name_handle;    /* the last handle given to a name (they go down from -1) */
    uint64_t npending;           /* over all connections */
    struct slab_pool pending_pool; /* where struct pending records come from */
    struct pending_list due;     /* every connection's, by deadline */
    struct session *tick_next;      /* where the next tick's walk starts (session.c) */
    int64_t cursor_pass_ms;      /* when the last pass that writes cursors began */
    int cursor_pass;             /* this pass writes cursors (session.c) */
    int64_t last_beat_ms;        /* mono_ms() of the last heartbeat to Redis */
    uint64_t beat_messages_out;  /* stats.messages_out at the last beat */
    uint64_t beat_pubs_in;       /* stats.pubs_in at the last beat */
    int stopping;                /* loop_stop ran: draining, then exit */
    int64_t stop_deadline_ms;    /* mono_ms(): the drain ends, whatever is left */
    struct store store;
    struct queue q;              /* upstream queues (queue.c) */
    struct broker_stats stats;
    struct broker_snapshot snap; /* published each tick, under proc->lock */
    struct ws_loop *ws;          /* the mesh port's part of the loop (ws.h) */
    struct bcast_wait *bcasts;   /* mesh.broadcast calls waiting for counts (mesh_broadcast.c) */
    uint64_t bcast_seq;          /* the last broadcast request's seq */
    /* Deliver first (pub_fast.c): sender id -> struct pub_sender *; the
     * last entry ms proposed; the next order mark this loop sends (read by
     * its siblings), and the last one back from each loop of the process. */
    struct imap pub_senders;
    uint64_t fast_ms;
    _Atomic uint64_t mark_next;
    uint64_t marks_seen[LOOPS_MAX];
    struct event *mark_ev;
    struct pub_barrier barrier;  /* devices registered here lately (pub_barrier.c) */
    struct handoff_inbox inbox;  /* PUBs handed over by sibling loops (handoff.c) */
    uint64_t wake_due;           /* sibling loops to wake at the end of this pass */
    struct event *wake_ev;       /* ... which wakes them */
    struct handoff_held held;    /* of those, the ones waiting for their F notice */
    char ws_broadcast[CFG_HOST_MAX + 8];  /* "": no mesh port */
};

/* ---- the limits of SPEC 5.4 (limits.c), shared by a process's loops ---- */

#define LIMITS_MAX 1000000       /* the highest accept_per_s, messages_per_s */

struct limits {
    _Atomic uint32_t accept_per_s;     /* in force; 0: unlimited */
    _Atomic uint32_t messages_per_s;
    /* the connections accepted in the current second: second << 32 | count */
    _Atomic uint64_t accepted;
};

/* Starts from the flags (--accept-per-s, --messages-per-s). */
void limits_init(struct limits *l, const struct broker_conf *conf);
/* What Redis holds (pg:limits, gateway.limit): each a decimal, or "-"
 * (any text that is not a number in 0..LIMITS_MAX) for the flag's. */
void limits_set(struct limits *l, const struct broker_conf *conf, const char *accept,
                size_t alen, const char *messages, size_t mlen);
/* One more connection (TCP, or a WebSocket upgrade) may be accepted in
 * this second; counts it. 0: over accept_per_s. */
int limits_accept(struct limits *l);
/* One more message (PUB, upstream frame, mesh.send/mesh.publish call) of
 * session s in this second; counts it. 0: over messages_per_s. */
int limits_message(struct session *s);

/* ---- the process: its loops, and the lock over their snapshots ---- */

struct broker_proc {
    pthread_mutex_t lock;
    int n;
    struct broker *loops;
    struct http_server *http;    /* on loop 0 */
    struct ssl_ctx_st *tls;      /* from --tls-cert and --tls-key, or NULL */
    struct limits limits;        /* accept_per_s, messages_per_s (limits.c) */
    struct handoff_dir dir;      /* which loop holds a device, a channel */
};

/* loop.c: one event loop */
/* ws: the mesh port (NULL: none). */
int loop_setup(struct broker *b, const struct cfg_addr *tcp, const struct cfg_addr *ws,
               enum net_share share);
void loop_start(struct broker *b);       /* connects to Redis */
/* The process holds --max-connections device connections (TCP and
 * WebSocket clients). */
int loop_full(const struct broker *b);
/* A listener l of b on addr (bound: the address it got), named
 * "<what> <bound>" in the log, accepting into cb once wanted. */
int loop_listen(struct broker *b, struct listener *l, const struct cfg_addr *addr,
                enum net_share share, const char *what, char *bound, size_t cap,
                evconnlistener_cb cb);
void loop_stop(struct broker *b);        /* idempotent; the loop exits when drained */
void loop_teardown(struct broker *b);
void loop_redis_ready(struct broker *b); /* Redis became ready: accept devices */

/* session.c: a device's life cycle, whatever its transport */
/* Links s (zeroed, the head of its transport's malloc'd struct) into b. */
void session_init(struct session *s, struct broker *b, const struct transport_ops *ops);
/* Every change of s->state goes through here (a debug trace). */
void session_set_state(struct session *s, enum session_state st);
/* Input came: the heartbeat timeout starts again. */
void session_heard(struct session *s);
void session_close(struct session *s);                 /* safe inside callbacks */
/* Writes error err (reason NULL: the table's) and, if the table says it
 * is fatal, closes s once it is out. Behind PUBs in flight it waits for
 * their Acks. reason must outlive the call (a literal). */
void session_fail(struct session *s, enum proto_error err, const char *reason);
/* Flushes what is queued, then closes without losing it. */
void session_finish(struct session *s);
void session_response(struct session *s, const char *text);
void session_resume(struct session *s);                /* after a Redis reply */
void session_free_dead(struct broker *b);
/* Something that will call back with s (a Redis reply, a queued catch-up
 * read) holds it: session_free_dead keeps a closed s while it is held. */
static inline void session_hold(struct session *s) { s->redis_refs++; }
static inline void session_release(struct session *s) { s->redis_refs--; }
/* Timeouts, on the monotonic clock (mono: mono_ms()). */
void session_tick(struct broker *b, int64_t mono);
/* A transport's bufferevent event callback (arg: its struct, which
 * begins with the session): EOF or an error closes the session. */
void session_bev_event(struct bufferevent *bev, short what, void *arg);
/* Drops what the peer sent (a closing connection reads and drops). */
void session_drop_input(struct bufferevent *bev);

/* Writes message m to s: the one transport call per delivered message. */
static inline void session_write_msg(struct session *s, struct msg *m, int64_t attempt)
{
    if (s->ops->write_msg(s, m, attempt) == 0)
        s->b->stats.messages_out++;
}

/* tcp.c: the TCP transport */
void tcp_accept(struct broker *b, int fd);

/* output.c's write of a bufferevent's output at the end of the pass (tcp.c
 * says why): the bytes left. With none left, the write watch asked for in
 * this pass is taken back. */
size_t output_write_bev(struct bufferevent *bev);
/* The same for session s's bufferevent, closing s when more than
 * max-output-bytes stay: 0 when all went out now, 1 when not (or nothing
 * was queued), -1 when s was closed. */
int output_flush_session(struct session *s, struct bufferevent *bev);

/* output.c: what was written in this loop pass goes out at its end */
/* s has written: flush it at the end of the pass (transports call it). */
void output_mark(struct session *s);
int output_init(struct broker *b);
void output_free(struct broker *b);   /* at teardown */

/* cmd.c: the TCP protocol's command table and dispatch */
void cmd_line(struct tcp_conn *t, char *line, size_t len);
void cmd_body(struct tcp_conn *t, const char *body, size_t len);
/* For a body of `size` bytes: 1 (after the fatal error) if over the limit. */
int cmd_body_too_big(struct tcp_conn *t, uint32_t size);
/* Whether the input begins with a command that may be read while PUBs
 * wait for Redis. */
int cmd_may_pipeline(struct evbuffer *in);
/* Finishes the plain FIN lines at the front of the input (a fast path). */
void cmd_take_fins(struct session *s, struct evbuffer *in);

/* cmd_identify.c */
void cmd_identify(struct session *c, const char *body, size_t len);
/* IDENTIFY's work after its body was parsed (also a WebSocket client's
 * upgrade); req is read during the call only. */
struct identify_req;
void identify_start(struct session *c, const struct identify_req *req);
/* Drops c's registration: the client map, its channels, its cursors and
 * presence in Redis. Idempotent. */
void identify_forget(struct session *c);
/* Another connection identified with c's client_id: closed with ERR_REPLACED. */
void session_replaced(struct session *c);
/* The session of this loop still identifying under connection token tok
 * (len bytes, "<broker id>:<nonce>"), or NULL. */
struct session *identify_waiting(struct broker *b, const char *tok, size_t len);
/* The connection's name in Redis ("<broker id>:<nonce>", unique across
 * loops and processes): the presence field "conn", and kick notices. */
#define SESSION_TOKEN_MAX 48
void session_token(const struct session *c, char buf[SESSION_TOKEN_MAX]);

/* streams.c: a session's streams, sorted by channel (binary search) */
struct stream_state *session_stream(struct session *c, int64_t channel);
/* c's pending messages that take room under max-pending (not the FINed
 * ones kept until covered). */
static inline uint32_t session_unfinished(const struct session *c)
{
    return c->npending - c->nfinished;
}
/* The stream of channel, added (zeroed but for its channel) if missing.
 * Pointers to c's streams are valid until the next add or delete. */
struct stream_state *session_add_stream(struct session *c, int64_t channel);
void session_del_stream(struct session *c, struct stream_state *s);
/* Replaces c's streams with those of channels (any order, duplicates
 * allowed): O(n log n), for IDENTIFY. */
void session_set_streams(struct session *c, const int64_t *channels, uint32_t n);

/* cmd_sub.c: SUB/UNSUB */
void cmd_sub(struct session *c, int64_t channel);
void cmd_unsub(struct session *c, int64_t channel);
/* The keys of lua/broker_sub.lua (and of each channel of mesh_subscribe.lua)
 * for device and channel (a name) into argv, built in key. */
#define SUB_NKEYS 8
void sub_keys(const char *argv[SUB_NKEYS], char key[SUB_NKEYS - 1][KEY_MAX], int64_t device,
              const char *channel);

/* channel.c: the channel index, and the handles of channel names */
/* The handle of channel name (len bytes, valid): an id is its own; another
 * name's is found, or made when create is set; 0: not found. */
int64_t channel_handle(struct broker *b, const char *name, size_t len, int create);
/* The name of a handle (an id is written in buf); NULL if it is no
 * channel of this loop's. */
const char *channel_name(struct broker *b, int64_t handle, char buf[ARG_INT_MAX]);
/* Its channel field (common/chan.h) in buf; NULL if it is no channel of
 * this loop's (a name whose last local subscriber left). */
char *channel_field(struct broker *b, int64_t handle, char buf[CHAN_FIELD_MAX]);
void channel_join(struct broker *b, struct session *c, struct stream_state *s);
void channel_leave(struct broker *b, struct session *c, struct stream_state *s);
void channel_free(struct broker *b, struct channel *ch);
void channel_index_free(struct broker *b);   /* at teardown */

/* cmd_pub.c */
#define PUB_PIPELINE 128         /* PUBs in flight per connection */
_Static_assert(PUB_PIPELINE < 256, "session.pubs_in_flight has 8 bits");
/* With PUBs in flight, an error frame takes its place behind their Acks
 * (fatal: then the connection closes). 0, or -1 if none are in flight. */
int pub_defer_error(struct session *c, enum proto_error err, const char *reason);
void cmd_pub(struct session *c, int64_t to, int64_t channel, int64_t mid,
             const char *body, size_t len);

/* cmd_fin.c */
void cmd_fin(struct session *c, int64_t mid);
int fin_message(struct session *c, int64_t mid);  /* -1 (nothing done): no such message */

/* pending.c */
/* mono: mono_ms() now; the deadline is on that clock. */
struct pending *pending_add(struct session *c, struct msg *m, int64_t attempt, int64_t mono);
int pending_fin(struct session *c, int64_t mid);
void pending_redeliver(struct broker *b);  /* those past their deadline */
void pending_clear(struct session *c);
void pending_pool_init(struct broker *b);
void pending_pool_free(struct broker *b);   /* at teardown */
/* c's uncovered fast record of (from, mid) on stream, or NULL; *any:
 * whether c has an uncovered fast record of that stream at all. */
struct pending *pending_fast_find(struct session *c, int64_t stream, int64_t from, int64_t mid,
                                  int *any);
/* Covers p (no longer fast); a finished one is dropped. */
void pending_cover(struct session *c, struct pending *p);
/* Drops c's record of m, if any (its write failed). */
void pending_drop_msg(struct session *c, const struct msg *m);
/* Stream s's SENT for its cursor: s->sent, or past its uncovered records. */
struct eid pending_fast_sent(const struct session *c, const struct stream_state *s);
/* The un-FINed message of each stream of c with the lowest entry id, or
 * NULL: oldest[i] for c->streams[i] (an array of c->nstreams). Uncovered
 * (fast) records are passed over: their entries lie past the stream's
 * SENT position, which the cursor's start never passes, while their
 * proposed ids may sort before entries whose notices have not come. */
void pending_oldest_each(struct session *c, const struct pending **oldest);

/* msg.c: messages, shared by every session they are written to */
/* chname: the name of a channel that is not an id (copied), or NULL. */
struct msg *msg_new(const struct frame_msg_meta *meta, struct eid eid, int64_t expire_ms,
                    int64_t stream, int type_filter, const char *chname, const char *body,
                    size_t len);
/* Its channel as a WebSocket client sees it: the name, "" for none. */
const char *msg_channel(const struct msg *m, char buf[ARG_INT_MAX]);
void msg_unref(struct msg *m);

/* notice.c: what this broker's pub/sub channel says */
void notice_receive(struct broker *b, const char *data, size_t len);
/* Publishes this loop's order mark seq to the notice channel of every
 * loop of the process. */
void notice_mark_send(struct broker *b, uint64_t seq);

/* conn_events.c: conn.open / conn.close (SPEC 5.4) on the topic $conn */
/* c identified (open) or its identified connection ends (!open). */
void conn_event(struct session *c, int open);
#define CONN_IP_MAX 46           /* INET6_ADDRSTRLEN */
/* What a conn.* event of c says of it: its topic ("" for TCP), and its
 * peer's address in ip ("" when it cannot be had). */
const char *conn_topic(struct session *c);
const char *conn_ip(struct session *c, char ip[CONN_IP_MAX]);

/* mesh_broadcast.c: the notices of mesh.broadcast */
/* "B ...": write the broadcast to this loop's clients, answer the count. */
void bcast_receive(struct broker *b, const char *data, size_t len);
/* "C <seq> <count>": a broker's count for a broadcast of this loop. */
void bcast_count(struct broker *b, const char *data, size_t len);
void bcast_free(struct broker *b);   /* at teardown: answers what waits */

/* deliver.c: live delivery */
/* A channel message (m->stream), to its subscribers here; takes m's
 * reference. They get it in a batch, at the latest at the end of the pass. */
void deliver_channel(struct broker *b, struct msg *m);
/* A message to device `to`, at once, after the batch before it. */
void deliver_device(struct broker *b, struct msg *m, int64_t to);
/* Writes the batch now (a notice of another kind keeps its place). */
void deliver_flush(struct broker *b);
int deliver_batch_init(struct broker *b);
void deliver_batch_free(struct broker *b);  /* at teardown: drops what is left */

/* catch_up.c */
/* Reads stream s of c from Redis past s->sent and writes what c should
 * get: queued, read in a later loop pass. */
void catch_up_stream(struct session *c, struct stream_state *s);
int catch_up_init(struct broker *b);
void catch_up_free(struct broker *b);   /* at teardown */

/* cursor.c: stream entry ids and the devices' read positions */
int eid_parse(const char *s, size_t len, struct eid *out);
int eid_cmp(struct eid a, struct eid b);
/* A stored cursor "START SENT" -> *read (the last entry not to read again,
 * from the XRANGE start) and *sent (the last entry ever sent; START's entry
 * when SENT is missing). 0, or -1 if malformed. */
int cursor_parse(const char *s, size_t len, struct eid *read, struct eid *sent);
/* The cursor of stream s of c, as cursor_write writes it: START is its
 * oldest un-FINed entry or just past SENT's position; SENT is the last
 * sent one, or past c's uncovered records. */
void cursor_of(struct session *c, const struct stream_state *s, char *buf, size_t cap);
/* Writes c's cursors: a plain HSET, or with gone the GONE script. */
void cursor_write(struct broker *b, struct session *c, int gone);

/* store.c */
/* A Redis command sent for a connection. Until its reply the connection
 * holds a reference (redis_refs), so that session_free_dead keeps it: done
 * then gets it still allocated, though maybe closed (check its state).
 * Embed it first in the request; done frees the request. */
struct store_call;
typedef void store_done_cb(struct store_call *call, struct redisReply *r);
struct store_call {
    struct session *c;
    store_done_cb *done;
};
#define STORE_CMD (-1)           /* store_call's script: a plain command */
#define STORE_ACK 0x100          /* or'ed into a script: its success is an
                                    acknowledgement (rconn_script_durable) */
/* Sends a command (script STORE_CMD) or script for c. 0, or -1 when Redis
 * is away: then done is never called and the caller frees the request. */
int store_call(struct store_call *call, struct session *c, store_done_cb *done, int script,
               int nkeys, int argc, const char **argv, const size_t *argvlen);
/* The same without a session: script STORE_CMD, a script, or a script
 * | STORE_ACK; 0, or -1 when Redis is away (cb is never called). */
int store_send(struct broker *b, int script, rconn_reply_cb *cb, void *arg, int nkeys, int argc,
               const char **argv, const size_t *argvlen);
void store_init(struct broker *b);
void store_shutdown(struct broker *b);
int store_ready(const struct broker *b);
/* Commands go through b->store.cmd with rconn_cmd / rconn_script. */
/* Writes c's read positions if they moved; session_tick calls it about once a
 * second per connection, so Redis never gets every HSET in one burst. */
void store_flush_cursors(struct broker *b, struct session *c);
/* mono: mono_ms(); the heartbeat goes out about once a second on it. */
void store_tick(struct broker *b, int64_t mono);
/* Takes this broker out of the registry (at shutdown). */
void store_leave(struct broker *b);

/* store_scripts.c */
extern const char *const store_script_text[SCRIPT_COUNT];

/* httpd.c: the process's HTTP port, on loop 0 */
int httpd_start(struct broker_proc *p, char *bound, size_t cap);
/* Copies b's numbers into b->snap for /stats (each tick). */
void broker_publish_snapshot(struct broker *b);
/* The process's Prometheus metrics, as seen from loop b. */
void broker_metrics(struct broker *b, struct evbuffer *out);


#endif
