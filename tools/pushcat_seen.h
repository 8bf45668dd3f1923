/* The (sender, message id) pairs pushcat printed last: a redelivery
 * (attempt > 1) of one of them is FINed and not printed again (SPEC 2.5).
 * Bounded: the oldest pair is forgotten when a new one comes. */
#ifndef PG_PUSHCAT_SEEN_H
#define PG_PUSHCAT_SEEN_H
#include <stddef.h>
#include <stdint.h>

#define SEEN_MAX 4096

struct seen {
    int64_t from[SEEN_MAX], mid[SEEN_MAX];
    size_t next, count;       /* the slot written next; slots in use */
};

void seen_add(struct seen *s, int64_t from, int64_t mid);
/* 1 if (from, mid) is among the last SEEN_MAX pairs added, else 0. */
int seen_has(const struct seen *s, int64_t from, int64_t mid);

#endif
