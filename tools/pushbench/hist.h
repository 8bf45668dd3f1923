/* A latency histogram in microseconds: exact below 64 us, then 32
 * sub-buckets per power of two (about 3% resolution), up to 2^36 us.
 * Fixed size and pointer-free, so a worker sends it to the parent as
 * bytes and the parent adds histograms up. */
#ifndef PB_HIST_H
#define PB_HIST_H
#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)                 /* 32 */
#define HIST_EXACT (2u * HIST_SUB)                      /* 0..63 us exact */
#define HIST_MAX_EXP 36
#define HIST_BUCKETS (HIST_EXACT + (HIST_MAX_EXP - HIST_SUB_BITS - 1) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t max_us;
    uint64_t sum_us;
    uint64_t bucket[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t us);
/* Adds every count of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value below which a fraction q (0..1) of the samples lie: the middle
 * of the bucket holding it, or max_us for q >= 1. 0 when empty. */
double hist_quantile_us(const struct hist *h, double q);

#endif
