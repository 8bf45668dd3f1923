/* Several event loops in one process, one per thread (brokerd's and
 * routerd's --threads): how many, running them, and waking one loop from
 * another thread without libevent's locking. */
#ifndef PG_LOOPS_H
#define PG_LOOPS_H

#include <stdint.h>

struct event;
struct event_base;

#define LOOPS_MAX 64

/* The number of loops for a --threads value: 0 means one per online core.
 * Always 1..LOOPS_MAX. */
int loops_count(uint64_t configured);

/* Dispatches loop 0's base (base_of(arg, 0)) on the calling thread and each
 * other loop's on a thread of its own; returns once every loop has exited.
 * 0, or -1 when a thread could not be started: then stop(arg) is called at
 * once (a loop nobody runs would still get its share of the port's
 * connections), and the loops that did start are waited for. */
int loops_run(int n, struct event_base *(*base_of)(void *arg, int i), void (*stop)(void *arg),
              void *arg);

/* A pipe a loop watches: any thread may ask it to run fn(arg). */
struct loop_wake {
    int fd[2];
    struct event *ev;
    void (*fn)(void *arg);
    void *arg;
};

int loop_wake_init(struct loop_wake *w, struct event_base *base, void (*fn)(void *arg),
                   void *arg);
void loop_wake(struct loop_wake *w);         /* from any thread */
void loop_wake_free(struct loop_wake *w);    /* idempotent */

#endif
