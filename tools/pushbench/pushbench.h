/* pushbench: a load generator for pushgate, MQTT 3.1.1 brokers (QoS 0) and
 * Redis pub/sub, so that the same workloads run against each side by side.
 *
 * The parent process forks workers and only coordinates: receiver workers
 * hold the subscribed connections, one publisher worker sends. They talk
 * over pipes (ctl.c); the parent samples /proc (procstat.c) and prints the
 * figures (report.c). Structs first, then prototypes grouped per file. */
#ifndef PB_PUSHBENCH_H
#define PB_PUSHBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "cfg.h"
#include "hist.h"
#include "log.h"

struct bufferevent;
struct event;
struct event_base;
struct ssl_ctx_st;

/* ---- options (main.c) ---- */

struct pb_opts {
    char *proto;                 /* pushgate | ws | mqtt | redis */
    char *workload;              /* idle | fanout | unicast | put */
    struct cfg_addr target;      /* device port, MQTT listener or Redis */
    struct cfg_addr put_address; /* routerd's /put (workload put) */
    struct cfg_addr pub_target;  /* ws fanout: the device port the publisher uses */
    char *service_token;         /* ws fanout: for POST /v1/conn/call */
    uint64_t conns;              /* receivers */
    uint64_t messages, size, rate;
    uint64_t publishers;         /* publishing connections */
    uint64_t concurrency;        /* put: HTTP requests in flight */
    uint64_t workers;            /* receiver processes */
    uint64_t connect_rate, connect_window;
    uint64_t broker_pid, aux_pid;
    uint64_t timeout;            /* seconds, for setup and for the drain */
    uint64_t settle_ms;
    uint64_t id_base, channel_base;
    uint64_t heartbeat;          /* seconds between keep-alives */
    int tls;                     /* pushgate: ask for TLS in IDENTIFY */
    uint64_t deflate;            /* pushgate: ask for deflate at this level (0: no) */
    enum log_level log_level;
};

/* Payload: the publisher's CLOCK_REALTIME in ns as PB_STAMP_LEN decimal
 * digits, then 'x' up to --size. */
#define PB_STAMP_LEN 20

struct pb_conn;

/* One protocol adapter (proto_*.c). Channel ids are numbers everywhere;
 * each adapter names them its own way ("pb/7" for MQTT). */
struct pb_proto {
    const char *name;
    int has_ack;                 /* every publish is answered */
    /* Writes the handshake and, when c->channel != 0, the subscription;
     * calls pb_conn_ready once the broker confirmed all of it. */
    void (*open)(struct pb_conn *c);
    /* Appends one publish of body to channel. seq is unique per sender. */
    void (*publish)(struct pb_conn *c, int64_t channel, uint64_t seq,
                    const char *body, size_t len);
    /* Consumes whole replies from data, calling pb_conn_ready, _message,
     * _acked and _error. Returns the bytes consumed, or -1 when the peer
     * broke the protocol (the connection fails). */
    ssize_t (*input)(struct pb_conn *c, const char *data, size_t len);
    void (*ping)(struct pb_conn *c);  /* keep-alive; NULL: none needed */
};

extern const struct pb_proto pb_proto_pushgate, pb_proto_mqtt, pb_proto_redis, pb_proto_http,
    pb_proto_ws;

struct pb_run;

/* One workload (wl_*.c). */
enum pb_pub_kind { PUB_NONE, PUB_DEVICE, PUB_HTTP };

struct pb_workload {
    const char *name;
    int shared_channel;          /* every receiver on channel-base; else its own */
    enum pb_pub_kind pub;
    /* Deliveries one accepted message makes with `receivers` ready. */
    uint64_t (*fanout)(uint64_t receivers);
    /* Checks the options; NULL, or what is wrong. */
    const char *(*check)(const struct pb_opts *o);
    void (*report)(const struct pb_run *r);
};

extern const struct pb_workload pb_wl_idle, pb_wl_fanout, pb_wl_unicast, pb_wl_put;

/* Everything a worker needs, fixed before the fork. */
struct pb_config {
    struct pb_opts o;
    const struct pb_proto *proto;      /* receivers */
    const struct pb_proto *pub_proto;  /* publishers: proto, or HTTP for put */
    const struct pb_workload *wl;
    struct sockaddr_storage target_sa, put_sa, pub_sa;
    socklen_t target_len, put_len, pub_len;
    uint64_t mid_base;                 /* message ids: mid_base + seq */
};

/* ---- what a worker measured (sent to the parent as bytes) ---- */

struct pb_stats {
    uint64_t conns_ready, conns_failed, conns_lost;
    int64_t setup_first_ns, setup_last_ns;  /* first connect, last ready */
    uint64_t sent, accepted, refused;       /* publishers */
    int64_t send_first_ns, send_last_ns, ack_last_ns;
    uint64_t received, bad_payloads, errors;
    int64_t recv_first_ns, recv_last_ns;
    struct hist latency;                    /* publish -> delivery, us */
    struct hist request;                    /* put: request -> response, us */
};

void stats_merge(struct pb_stats *dst, const struct pb_stats *src);

/* ---- connections (conn.c) ---- */

enum pb_conn_state { PC_IDLE, PC_CONNECTING, PC_OPENING, PC_READY, PC_DEAD };

struct pb_worker;

struct pb_conn {
    struct pb_worker *w;
    const struct pb_proto *proto;
    struct bufferevent *bev;     /* connects and writes; holds a partial frame */
    struct event *read_ev;       /* reads, once connected (conn.c) */
    /* TLS and deflate once granted (SPEC 2.8): then the connection reads
     * and writes through this top bufferevent, and read_ev is gone. */
    struct bufferevent *top;
    int sub_later;               /* pushgate: SUB once the layers' OK came */
    enum pb_conn_state state;
    int64_t client_id;
    int64_t channel;             /* subscribed channel; 0 for a publisher */
    int awaiting;                /* adapter: confirmations before ready */
    uint64_t inflight;           /* publishes not answered yet */
    int64_t req_ns;              /* put: when the request in flight was sent */
};

#define PB_GATHER_MAX 32768
/* Bytes one read takes from a socket. */
#define PB_READ_MAX 65536

/* Starts the TCP connect of c; 0, or -1 (c is dead). */
int pb_conn_start(struct pb_conn *c, const struct sockaddr *sa, socklen_t len);
void pb_conn_write(struct pb_conn *c, const void *data, size_t len);
size_t pb_conn_output_len(const struct pb_conn *c);
/* Stacks TLS (tls) and deflate at level (0: none) on c's socket once
 * IDENTIFY's reply granted them; what c reads next goes through them.
 * 0, or -1 (c failed). */
int pb_conn_layers(struct pb_conn *c, int tls, int level);
void pb_conn_close(struct pb_conn *c);
/* From adapters: */
void pb_conn_ready(struct pb_conn *c);
void pb_conn_message(struct pb_conn *c, const char *body, size_t len);
void pb_conn_acked(struct pb_conn *c, int ok);
void pb_conn_error(struct pb_conn *c, const char *what, size_t len);

/* ---- worker processes (worker.c, publisher.c) ---- */

struct pb_worker {
    const struct pb_config *cfg;
    struct event_base *base;
    int index;
    int publisher;               /* the publisher worker */
    int ctl_in, ctl_out;         /* from and to the parent */
    struct event *ctl_ev, *tick_ev;
    struct pb_conn *conns;
    uint64_t nconns;
    uint64_t started, ready, failed;
    int64_t start_ns, go_ns, last_ping_ns, last_progress_ns;
    uint64_t last_progress;
    int ready_sent, going, done_sent;
    uint64_t next_conn;          /* publisher: round robin */
    uint64_t rng;
    char *body;                  /* publisher: the payload being sent */
    /* Replies (FINs) written while one connection's input is parsed, sent
     * with one send() at the end (conn.c): no write event per message. */
    struct pb_conn *gather_conn;
    char *gather;
    size_t gather_len;
    /* When the input being parsed was read: one clock read per read, not
     * per message (messages that came in one read arrived together). */
    int64_t read_ns;
    char *rbuf;                  /* PB_READ_MAX: what a read brought */
    struct ssl_ctx_st *tls_ctx;  /* --tls: a client context (no verification) */
    struct pb_stats st;
};

/* Runs worker `index` in this (forked) process; never returns. Receivers
 * hold connections [first, first + n); the publisher holds its own. */
void worker_main(const struct pb_config *cfg, int index, int publisher, uint64_t first,
                 uint64_t n, int ctl_in, int ctl_out) __attribute__((noreturn));
void worker_conn_ready(struct pb_worker *w);
/* A connection closed: during set-up it failed, once ready it was lost. */
void worker_conn_gone(struct pb_worker *w, int was_ready);

void publisher_tick(struct pb_worker *w, int64_t now);
void publisher_acked(struct pb_worker *w, struct pb_conn *c);

/* ---- parent <-> worker messages (ctl.c) ---- */

enum pb_ctl_type {
    CTL_READY = 1,   /* worker: every connection set up (a: ready, b: failed) */
    CTL_PROGRESS,    /* worker: a: received so far (receivers) or sent */
    CTL_SENT,        /* publisher: done (a: sent, b: accepted) */
    CTL_RESULT,      /* worker: struct pb_stats follows */
    CTL_GO,          /* parent: start publishing / measuring */
    CTL_STOP,        /* parent: send the result and exit */
};

struct pb_ctl {
    uint32_t type;
    uint32_t len;                /* bytes following (CTL_RESULT) */
    uint64_t a, b;
};

/* Blocking write of a message and its payload; 0 or -1. */
int ctl_send(int fd, enum pb_ctl_type type, uint64_t a, uint64_t b, const void *payload,
             uint32_t len);
/* Blocking read of one small message; 0, or -1 at EOF or error. */
int ctl_recv(int fd, struct pb_ctl *m);

/* ---- /proc sampling (procstat.c) ---- */

int proc_cpu_ns(pid_t pid, uint64_t *out);       /* utime + stime */
int proc_rss_bytes(pid_t pid, uint64_t *out);    /* VmRSS */
int proc_tcp_mem_bytes(uint64_t *out);           /* sockstat "TCP: mem" pages */

/* ---- the parent: phases and aggregation (coord.c) ---- */

struct pb_sample {
    int64_t t_ns;
    uint64_t broker_cpu_ns, aux_cpu_ns, bench_cpu_ns;
    uint64_t broker_rss, aux_rss, tcp_mem;
};

struct pb_run {
    const struct pb_config *cfg;
    struct pb_sample before;     /* before any connection */
    struct pb_sample ready;      /* every connection set up (GO) */
    struct pb_sample end;        /* every delivery in, or the drain gave up */
    struct pb_stats total;       /* all workers */
    struct pb_stats recv;        /* receivers only */
    struct pb_stats pub;         /* the publisher only */
    uint64_t expected;           /* deliveries */
    int timed_out;               /* setup or drain ran out of time */
};

/* Forks the workers, runs the phases, prints the figures. Exit status. */
int coord_run(const struct pb_config *cfg);

/* ---- output (report.c) ---- */

/* "figure NAME VALUE": one line per figure, for scripts/bench. */
void report_figure(const char *name, double value);
void report_setup(const struct pb_run *r);
void report_published(const struct pb_run *r);   /* messages_sent/accepted/refused */
void report_cpu(const struct pb_run *r, double deliveries);
void report_latency(const char *prefix, const struct hist *h);
void report_losses(const struct pb_run *r);

/* ---- small helpers (payload.c) ---- */

int64_t pb_now_ns(void);
/* Fills body (len >= PB_STAMP_LEN) with the stamp of now and padding. */
void payload_fill(char *body, size_t len, int64_t now_ns);
/* The stamp at the front of body; 0 and -1 if there is none. */
int payload_stamp(const char *body, size_t len, int64_t *ns);
/* Decimal digits of v into buf (at least 20 bytes); returns the length. */
size_t fmt_u64(char *buf, uint64_t v);
uint64_t rng_next(uint64_t *state);

#endif
