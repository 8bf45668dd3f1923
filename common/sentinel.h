/* Redis Sentinel for one event loop (SPEC 6): which address is the master.
 *
 * It asks the sentinels in turn (SENTINEL get-master-addr-by-name, 500 ms
 * each) at start and whenever a connection that follows it is lost, and
 * subscribes to every sentinel's failover events: +try-failover fences
 * (the connections are dropped and none is made, so nothing is
 * acknowledged while the master changes), +switch-master moves them to
 * the new master at once, an aborted failover lifts the fence. The
 * connections (common/rconn.c) check with ROLE that the address they were
 * given is a master, so a stale sentinel cannot send them to a replica. */
#ifndef PG_SENTINEL_H
#define PG_SENTINEL_H
#include <stdint.h>

#include "cfg.h"

struct event_base;
struct event;
struct redisAsyncContext;
struct rconn;

#define SENTINEL_USERS_MAX 4

struct sentinel;

/* A subscription to one sentinel's events. */
struct sentinel_link {
    struct sentinel *sn;
    struct redisAsyncContext *ac;
    int64_t fenced_ms;           /* mono_ms() of its +try-failover; 0: none */
};

struct sentinel {
    struct event_base *base;
    const struct cfg_redis_ha *conf;
    struct sentinel_link links[CFG_ADDRS_MAX];
    struct redisAsyncContext *query;  /* the sentinel being asked, or NULL */
    int next;                    /* the sentinel asked first next time */
    int tries;                   /* sentinels asked in this round */
    int64_t query_ms;            /* when the current question was sent */
    int64_t query_due_ms;        /* 0: no question waits */
    int64_t last_query_ms;
    int64_t last_link_ms;        /* when the links down were last tried */
    struct event *tick;
    struct cfg_addr master;
    int known;                   /* master holds an answer */
    int fenced;                  /* a failover is under way */
    struct rconn *users[SENTINEL_USERS_MAX];
    int nusers;
};

/* What a daemon's loop does: with sentinels in conf, sentinel_init,
 * sentinel_add rc1 and rc2 (may be NULL), sentinel_start; otherwise sn
 * stays unused. Call it before rconn_start. */
void sentinel_open(struct sentinel *sn, struct event_base *base, const struct cfg_redis_ha *conf,
                   struct rconn *rc1, struct rconn *rc2);
/* 0, or -1 when conf names no sentinel (sn is then unused). */
int sentinel_init(struct sentinel *sn, struct event_base *base, const struct cfg_redis_ha *conf);
/* rc connects to the master sn knows, and only then. */
void sentinel_add(struct sentinel *sn, struct rconn *rc);
void sentinel_start(struct sentinel *sn);
void sentinel_stop(struct sentinel *sn);
/* The master to connect to: 1 with *out filled, or 0 (unknown, fenced). */
int sentinel_master(const struct sentinel *sn, struct cfg_addr *out);
/* A follower lost its master or found a replica there: ask again (at most
 * every 250 ms). */
void sentinel_stale(struct sentinel *sn);

#endif
