/* pushcat's reconnect delays: exponential backoff with jitter. */
#ifndef PG_PUSHCAT_RETRY_H
#define PG_PUSHCAT_RETRY_H
#include <stdint.h>

#define RETRY_MIN_MS 100      /* the first retry */
#define RETRY_MAX_MS 5000     /* the cap */
#define RETRY_JITTER_PCT 20   /* each delay is moved by up to this, either way */

/* The delay before retry number attempt (1 = the first), for a random
 * value rnd: RETRY_MIN_MS doubled attempt - 1 times, capped at RETRY_MAX_MS,
 * then scaled by a factor in [1 - jitter, 1 + jitter] taken from rnd (so
 * that devices that lost the same broker do not all come back at once). */
int64_t retry_delay_ms(unsigned attempt, uint32_t rnd);

#endif
