/* Clocks in milliseconds. */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H
#include <stdint.h>

/* Wall-clock time since the Unix epoch: for what is compared with other
 * machines or stored (timestamps, expiry). */
int64_t now_ms(void);
/* Monotonic time from an arbitrary start: for timeouts, which a step of
 * the wall clock must not stretch or cut short. */
int64_t mono_ms(void);

#endif
