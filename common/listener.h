/* An accepting socket that never spins: when accept() fails (EMFILE at the
 * fd limit, ENFILE, ENOBUFS...) it pauses with backoff, 10 ms doubling to
 * 1 s, and says so in the log at most once a second; its owner may also
 * pause it while it holds as many connections as it allows. Every
 * listener of every daemon is one (brokerd's device port, and each evhttp
 * port through http_server.c). */
#ifndef PG_LISTENER_H
#define PG_LISTENER_H

#include <stdint.h>

#include <event2/listener.h>
#include <event2/util.h>

struct event;
struct event_base;

/* At most one log line a second about one listener's troubles. */
struct ratelog {
    int64_t last_ms;      /* mono_ms of the last line, 0: none yet */
    unsigned quiet;       /* events since that line, not logged */
};

struct listener {
    struct evconnlistener *lev;
    struct event *retry_ev;
    char name[64];        /* "http 127.0.0.1:4173", for the log */
    int wanted;           /* the owner wants connections (listener_want) */
    int full;             /* the owner holds all it allows (listener_full) */
    int backoff_ms;       /* pause after the last failed accept; 0: none */
    int retrying;         /* paused until retry_ev */
    int enabled;          /* what evconnlistener was last told */
    struct ratelog log;
    struct listener *next;  /* in listener.c's list of them all */
};

/* Wraps fd (listening, non-blocking) on base, disabled until
 * listener_want(l, 1). cb may be NULL when evhttp_bind_listener sets it.
 * 0, or -1 (fd closed, logged). */
int listener_init(struct listener *l, struct event_base *base, evutil_socket_t fd,
                  const char *name, evconnlistener_cb cb, void *arg);
void listener_want(struct listener *l, int on);
void listener_full(struct listener *l, int full);
/* A connection came in: the backoff starts again from its smallest. */
void listener_accepted(struct listener *l);
/* 1 if a line about l may be logged now (then *quiet says how many were
 * left out since the last one); counts the event either way. */
int ratelog_due(struct ratelog *r, unsigned *quiet);
/* Frees the timer, and the evconnlistener if own_lev (evhttp_free frees
 * the one of an evhttp port: call this first, then evhttp_free). */
void listener_free(struct listener *l, int own_lev);

#endif
