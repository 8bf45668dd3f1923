#include "config.h"

#include "pushcat_retry.h"

int64_t retry_delay_ms(unsigned attempt, uint32_t rnd)
{
    int64_t base = RETRY_MIN_MS;
    int64_t span;

    while (attempt-- > 1 && base < RETRY_MAX_MS)
        base *= 2;
    if (base > RETRY_MAX_MS)
        base = RETRY_MAX_MS;
    span = base * RETRY_JITTER_PCT / 100;   /* the jitter's reach, either way */
    return base - span + (int64_t)(rnd % (uint32_t)(2 * span + 1));
}
