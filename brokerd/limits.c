/* The cluster-wide limits of SPEC 5.4 and 5.5 ("Limits"): accept_per_s
 * per broker process, messages_per_s per connection, both over fixed
 * wall-clock seconds (so that every broker's windows start together).
 * The values in force come from the flags until Redis holds its own
 * (pg:limits, set by gateway.limit): the heartbeat reads them each second
 * and an L notice brings a change at once (docs/DESIGN.md, "Limits"). */
#include <stdatomic.h>
#include <time.h>

#include "broker.h"
#include "numparse.h"

#define WINDOW_MASK 0xfffu       /* struct limits_rate's window: 12 bits */

static uint64_t limits_second(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

void limits_init(struct limits *l, const struct broker_conf *conf)
{
    atomic_store(&l->accept_per_s, (uint32_t)conf->accept_per_s);
    atomic_store(&l->messages_per_s, (uint32_t)conf->messages_per_s);
    atomic_store(&l->accepted, 0);
}

/* A limit Redis holds (len bytes), or fallback for "-" or anything else. */
static uint32_t limits_value(const char *s, size_t len, uint64_t fallback)
{
    uint64_t v;
    if (s && parse_uint_range(s, len, 0, LIMITS_MAX, &v) == 0)
        return (uint32_t)v;
    return (uint32_t)fallback;
}

void limits_set(struct limits *l, const struct broker_conf *conf, const char *accept,
                size_t alen, const char *messages, size_t mlen)
{
    uint32_t a = limits_value(accept, alen, conf->accept_per_s);
    uint32_t m = limits_value(messages, mlen, conf->messages_per_s);
    uint32_t was_a = atomic_exchange(&l->accept_per_s, a);
    uint32_t was_m = atomic_exchange(&l->messages_per_s, m);
    if (was_a != a || was_m != m)
        log_info("limits in force: accept_per_s %u, messages_per_s %u", a, m);
}

int limits_accept(struct limits *l)
{
    uint32_t max = atomic_load_explicit(&l->accept_per_s, memory_order_relaxed);
    if (max == 0)
        return 1;
    uint64_t sec = limits_second() & 0xffffffffu;
    uint64_t cur = atomic_load(&l->accepted);
    for (;;) {
        uint64_t n = cur >> 32 == sec ? cur & 0xffffffffu : 0;
        if (n >= max)
            return 0;
        if (atomic_compare_exchange_weak(&l->accepted, &cur, sec << 32 | (n + 1)))
            return 1;
    }
}

int limits_message(struct session *s)
{
    uint32_t max = atomic_load_explicit(&s->b->proc->limits.messages_per_s, memory_order_relaxed);
    if (max == 0)
        return 1;
    uint32_t win = (uint32_t)(limits_second() & WINDOW_MASK);
    uint32_t n = s->rate.window == win ? s->rate.count : 0;
    if (n >= max)
        return 0;
    s->rate.window = win & WINDOW_MASK;
    s->rate.count = (n + 1) & 0xfffffu;
    return 1;
}
