#include "config.h"

#include "pushcat_seen.h"

void seen_add(struct seen *s, int64_t from, int64_t mid)
{
    s->from[s->next] = from;
    s->mid[s->next] = mid;
    s->next = (s->next + 1) % SEEN_MAX;
    if (s->count < SEEN_MAX)
        s->count++;
}

/* A linear scan: it runs only for redeliveries, which are rare. */
int seen_has(const struct seen *s, int64_t from, int64_t mid)
{
    size_t i;

    for (i = 0; i < s->count; i++)
        if (s->mid[i] == mid && s->from[i] == from)
            return 1;
    return 0;
}
