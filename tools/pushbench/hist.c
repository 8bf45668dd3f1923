/* Log-linear latency histogram (see hist.h). */
#include "hist.h"

static unsigned hist_index(uint64_t us)
{
    unsigned e;

    if (us < HIST_EXACT)
        return (unsigned)us;
    if (us >= (1ull << HIST_MAX_EXP))
        return HIST_BUCKETS - 1;
    e = 63u - (unsigned)__builtin_clzll(us);   /* 2^e <= us < 2^(e+1), e >= 6 */
    return HIST_EXACT + (e - HIST_SUB_BITS - 1) * HIST_SUB +
           (unsigned)((us >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Lowest value of bucket i and its width. */
static void hist_range(unsigned i, uint64_t *lo, uint64_t *width)
{
    unsigned e, sub;

    if (i < HIST_EXACT) {
        *lo = i;
        *width = 1;
        return;
    }
    e = (i - HIST_EXACT) / HIST_SUB + HIST_SUB_BITS + 1;
    sub = (i - HIST_EXACT) % HIST_SUB;
    *width = 1ull << (e - HIST_SUB_BITS);
    *lo = (1ull << e) + sub * *width;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->bucket[hist_index(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

double hist_quantile_us(const struct hist *h, double q)
{
    uint64_t rank, seen = 0, lo, width;

    if (h->count == 0)
        return 0;
    if (q >= 1)
        return (double)h->max_us;
    rank = (uint64_t)(q * (double)h->count);   /* samples strictly below */
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen > rank) {
            hist_range(i, &lo, &width);
            double mid = (double)lo + (double)(width - 1) / 2;
            return mid > (double)h->max_us ? (double)h->max_us : mid;
        }
    }
    return (double)h->max_us;
}
