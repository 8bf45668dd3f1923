/* Upstream queues (SPEC 5.3 "Upstream", queue.pop / queue.unpop): a
 * client's frames go, through Redis, to one service popping its topic
 * anywhere in the mesh. docs/DESIGN.md ("Upstream queues") has the keys,
 * scripts and hand-over; queue_push.c is the clients' side, queue.c the
 * services'. */
#ifndef PG_QUEUE_H
#define PG_QUEUE_H
#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "keys.h"

struct broker;
struct event;
struct ws_service;

#define QUEUE_WINDOW 64          /* frames written to a service and not yet taken */
/* No frame is written to a service with this much output not yet taken:
 * with the one written last, below SESSION_OUTPUT_PAUSE_BYTES, where the
 * WebSocket transport stops reading a service (a queue.unpop stays
 * readable), and far below max-output-bytes, where it closes one. */
#define QUEUE_WINDOW_BYTES (128 * 1024)
#define QUEUE_POP_MAX 256        /* frames per pop script */
#define QUEUE_PUSH_MAX 256       /* frames per push script */
/* The reserved topic a worker may pop (SPEC 5.4): conn.open/conn.close. */
#define QUEUE_CONN_TOPIC "$conn"

/* A frame written to a service, in flight until its socket took `end`. */
struct qframe {
    uint64_t seq;
    uint64_t end;                /* its last byte's offset in the output, plus 1 */
};

/* A topic this broker pops (services) or pushes to (clients) this pass. */
struct qtopic {
    struct qtopic *next;         /* same hash in the map */
    struct qsvc **svcs;          /* the local services popping it */
    uint32_t nsvcs, capsvcs, rr;
    uint32_t avg;                /* an envelope's bytes, a running average */
    uint8_t popping;             /* a pop script is waiting for Redis */
    uint8_t more;                /* the list may hold more: pop when there is room */
    uint8_t joined;              /* in the topic's :bk set */
    uint8_t pushing;             /* on the loop's push list */
    char **envs;                 /* envelopes read this pass, oldest first */
    size_t *lens;
    uint32_t nenvs, capenvs;
    char name[TOPIC_MAX + 1];
};

/* A service connection that pops: its topics and its frames in flight. */
struct qsvc {
    struct ws_service *conn;
    struct qtopic **topics;
    uint32_t ntopics;
    struct qframe fly[QUEUE_WINDOW]; /* a ring, oldest first */
    uint32_t head, nfly;
    uint8_t closed;              /* its connection took no more writes */
};

/* One loop's queues. */
struct queue {
    struct imap topics;          /* name hash -> struct qtopic * (chained) */
    struct qtopic **push;        /* topics with envelopes to push this pass */
    uint32_t npush, cappush;
    uint64_t *acks;              /* seqs taken this pass, to acknowledge */
    uint32_t nacks, capacks;
    struct event *ev;            /* the end of the pass: pushes and acks */
};

/* queue.c: services */
int queue_init(struct broker *b);
void queue_free(struct broker *b);           /* at teardown */
/* queue.pop of service conn (its state *q, created on the first): 0, or
 * the SPEC's code (101, 201, 202). topics are names already checked. */
int queue_pop(struct broker *b, struct ws_service *conn, struct qsvc **q, const char *const *topics,
              size_t n);
/* queue.unpop: 0, or 203. *q is freed (NULL after). */
int queue_unpop(struct broker *b, struct qsvc **q);
/* The service's connection closed: hand its frames back, free *q. */
void queue_svc_gone(struct broker *b, struct qsvc **q);
/* The service's socket took more of its output (taken: bytes so far). */
void queue_svc_taken(struct broker *b, struct qsvc *q, uint64_t taken);
/* The notice "Q <topic>": a push woke this broker. */
void queue_wake(struct broker *b, const char *topic, size_t len);
/* Redis became ready: reclaim what a lost reply left in flight, pop again. */
void queue_resync(struct broker *b);
/* Each beat: reclaim the frames of dead brokers. */
void queue_beat(struct broker *b);

/* queue_topic.c: the map of topics */
struct qtopic *qtopic_get(struct broker *b, const char *name, size_t len);
struct qtopic *qtopic_add(struct broker *b, const char *name, size_t len);
/* Frees t once nothing holds it (no service, pop or push). */
void qtopic_release(struct broker *b, struct qtopic *t);

/* queue_push.c: clients */
/* An upstream frame of client c for topic (a checked name): its envelope
 * goes to Redis at the end of the pass, with the others of its topic. */
void queue_upstream(struct broker *b, int64_t client, const char *topic, int binary,
                    const char *data, size_t len);
/* Any envelope (env malloc'd, stolen) for topic: pushed at the end of the
 * pass with the others of its topic, as an upstream frame is (conn.open
 * and conn.close, conn_events.c). */
void queue_push_env(struct broker *b, const char *topic, char *env, size_t elen);
/* At the end of the pass: one push script per topic (and 256 frames). */
void queue_push_flush(struct broker *b);

#endif
