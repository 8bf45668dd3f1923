/* Wall-clock milliseconds since the Unix epoch. */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H
#include <stdint.h>

int64_t now_ms(void);

#endif
