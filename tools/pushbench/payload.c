/* The payload every publisher sends: its send time, so that a receiver in
 * another process can tell how late the message arrived. Workers run on
 * one machine, so CLOCK_REALTIME is the same clock for all of them. */
#include <string.h>
#include <time.h>

#include "pushbench.h"

int64_t pb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

void payload_fill(char *body, size_t len, int64_t now_ns)
{
    uint64_t v = (uint64_t)now_ns;

    for (size_t i = PB_STAMP_LEN; i-- > 0; v /= 10)
        body[i] = (char)('0' + v % 10);
    if (len > PB_STAMP_LEN)
        memset(body + PB_STAMP_LEN, 'x', len - PB_STAMP_LEN);
}

int payload_stamp(const char *body, size_t len, int64_t *ns)
{
    uint64_t v = 0;

    if (len < PB_STAMP_LEN)
        return -1;
    for (size_t i = 0; i < PB_STAMP_LEN; i++) {
        if (body[i] < '0' || body[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(body[i] - '0');
    }
    if (v > INT64_MAX)
        return -1;
    *ns = (int64_t)v;
    return 0;
}

/* xorshift64*: fast and good enough to pick target devices. */
uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
