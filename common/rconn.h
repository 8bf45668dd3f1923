/* One hiredis async connection on a libevent loop that looks after itself:
 * connects, loads the caller's Lua scripts, reports ready and lost, retries
 * with backoff (100 ms doubling to 2 s), and counts a command unanswered for
 * too long as a lost connection. Used by every daemon.
 *
 * With a sentinel (sentinel.h) it connects to the master the sentinels
 * name, checks with ROLE that it is one, and follows failovers. With
 * min_replicas, the reply of a durable command (rconn_script_durable) is
 * handed over only once a WAIT sent after it confirms that many replicas
 * (one WAIT per loop pass, after the pass's commands); otherwise, or after
 * RCONN_WAIT_MS, its callback gets NULL as when Redis is away. Replies
 * keep their order: one that comes while a durable one waits waits too. */
#ifndef PG_RCONN_H
#define PG_RCONN_H
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

struct event_base;
struct event;
struct redisAsyncContext;
struct redisReply;
struct rconn;
struct rconn_held;
struct sentinel;

/* How long WAIT waits for the replicas before the commands it covers are
 * refused (SPEC 6). */
#define RCONN_WAIT_MS 1000

typedef void rconn_event_cb(struct rconn *rc, void *arg);
/* r is NULL when the connection went away before the reply. */
typedef void rconn_reply_cb(void *arg, struct redisReply *r);
/* A raw hiredis callback, for SUBSCRIBE (called once per notice). */
typedef void rconn_raw_cb(struct redisAsyncContext *ac, void *reply, void *privdata);

struct rconn {
    struct event_base *base;
    struct cfg_addr addr;
    struct redisAsyncContext *ac;
    int ready;                   /* scripts loaded; with none, as soon as the
                                    connect starts (commands queue) */
    const char *const *scripts;
    int nscripts, loaded;
    char (*sha)[41];
    struct event *retry_ev;
    struct event *flush_ev;      /* writes queued commands at the end of the pass */
    int flush_pending;
    int64_t backoff_ms;
    uint64_t in_flight;
    int64_t last_reply_ms;       /* mono_ms() of the last reply, or of the
                                    command that ended an idle spell */
    int64_t reply_timeout_ms;
    int stopped;
    struct sentinel *sentinel;   /* set by sentinel_add: the master comes from it */
    int role_checked;            /* ROLE said master on this connection */
    uint64_t min_replicas;       /* for durable commands; 0: none */
    int unwaited;                /* durable commands sent since the last WAIT */
    uint32_t waits_in_flight;
    struct rconn_held *held, **held_tail;  /* replies waiting for a WAIT */
    rconn_event_cb *on_ready, *on_lost;
    void *arg;
};

/* on_ready runs each time the connection becomes ready; on_lost after each
 * loss, a failed retry included, so while Redis stays away it repeats with
 * the backoff. */
void rconn_init(struct rconn *rc, struct event_base *base, const struct cfg_addr *addr,
                const char *const *scripts, int nscripts, int64_t reply_timeout_ms,
                rconn_event_cb *on_ready, rconn_event_cb *on_lost, void *arg);
void rconn_start(struct rconn *rc);
/* Drops the connection (pending callbacks get NULL) and schedules a retry. */
void rconn_reset(struct rconn *rc, const char *why);
/* Drops it for good. */
void rconn_stop(struct rconn *rc);
/* The watchdog; call it from a periodic timer. Commands in flight with no
 * reply for reply_timeout_ms (on the monotonic clock) reset the
 * connection. */
void rconn_tick(struct rconn *rc);

/* Send a command; 0, or -1 (cb not called) when not connected. */
int rconn_cmd(struct rconn *rc, rconn_reply_cb *cb, void *arg, int argc, const char **argv,
              const size_t *argvlen);
/* EVALSHA script `which` with nkeys keys; -1 until the scripts are loaded. */
int rconn_script(struct rconn *rc, int which, rconn_reply_cb *cb, void *arg, int nkeys,
                 int argc, const char **argv, const size_t *argvlen);
/* The same for a script whose success is an acknowledgement: with
 * min_replicas, cb waits for the WAIT (or gets NULL). */
int rconn_script_durable(struct rconn *rc, int which, rconn_reply_cb *cb, void *arg, int nkeys,
                         int argc, const char **argv, const size_t *argvlen);
/* The sentinel's answer changed (sentinel.c): drop the connection unless
 * it is to the master now named, and connect to that one at once. */
void rconn_master_changed(struct rconn *rc);
/* SUBSCRIBE chan with a raw callback (not counted by the watchdog). */
int rconn_subscribe(struct rconn *rc, const char *chan, rconn_raw_cb *cb, void *privdata);

#endif
