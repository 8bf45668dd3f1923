/* A session's streams: the inbox (channel 0) first, then one per
 * subscribed channel, kept sorted by channel handle compared as unsigned
 * (the inbox, ids, then names' negative handles) so that finding one is a
 * binary search. A device may have max-subs of them (1,000 by default):
 * a linear scan per lookup made IDENTIFY, catch-up and cursor writes
 * quadratic in them. Sorted arrays cost no memory per idle connection,
 * where a hash per session would. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "xmalloc.h"

/* The index of channel's stream in c, or of where it would go. */
static uint32_t streams_lower_bound(const struct session *c, int64_t channel)
{
    uint32_t lo = 0, hi = c->nstreams;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)c->streams[mid].channel < (uint64_t)channel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct stream_state *session_stream(struct session *c, int64_t channel)
{
    uint32_t i = streams_lower_bound(c, channel);
    return i < c->nstreams && c->streams[i].channel == channel ? &c->streams[i] : NULL;
}

static void streams_reserve(struct session *c, uint32_t n)
{
    if (n <= c->capstreams)
        return;
    uint32_t cap = c->capstreams ? c->capstreams : 2;
    while (cap < n)
        cap *= 2;
    c->streams = xreallocarray(c->streams, cap, sizeof(*c->streams));
    c->capstreams = cap;
}

struct stream_state *session_add_stream(struct session *c, int64_t channel)
{
    uint32_t i = streams_lower_bound(c, channel);
    if (i < c->nstreams && c->streams[i].channel == channel)
        return &c->streams[i];
    streams_reserve(c, c->nstreams + 1);
    memmove(&c->streams[i + 1], &c->streams[i], (c->nstreams - i) * sizeof(*c->streams));
    c->nstreams++;
    struct stream_state *s = &c->streams[i];
    memset(s, 0, sizeof(*s));
    s->channel = channel;
    return s;
}

void session_del_stream(struct session *c, struct stream_state *s)
{
    uint32_t i = (uint32_t)(s - c->streams);
    memmove(s, s + 1, (c->nstreams - i - 1) * sizeof(*s));
    c->nstreams--;
}

static int streams_cmp(const void *a, const void *b)
{
    uint64_t x = (uint64_t)((const struct stream_state *)a)->channel;
    uint64_t y = (uint64_t)((const struct stream_state *)b)->channel;
    return (x > y) - (x < y);
}

void session_set_streams(struct session *c, const int64_t *channels, uint32_t n)
{
    streams_reserve(c, n);
    for (uint32_t i = 0; i < n; i++) {
        memset(&c->streams[i], 0, sizeof(c->streams[i]));
        c->streams[i].channel = channels[i];
    }
    qsort(c->streams, n, sizeof(*c->streams), streams_cmp);
    uint32_t k = 0;  /* drop duplicates */
    for (uint32_t i = 0; i < n; i++)
        if (k == 0 || c->streams[i].channel != c->streams[k - 1].channel)
            c->streams[k++] = c->streams[i];
    c->nstreams = k;
}
