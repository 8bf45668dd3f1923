/* pushcat's client of routerd's POST /registration (SPEC 3): which device
 * id a serial number has and which live broker it should connect to. */
#ifndef PG_PUSHCAT_REGISTER_H
#define PG_PUSHCAT_REGISTER_H
#include <stdint.h>

#include <event2/event.h>

#include "cfg_addr.h"

#define REGISTER_TIMEOUT_SEC 5

struct registration {
    int64_t device_id;
    struct cfg_addr broker;
    char token[257];          /* "" when routerd has no secret */
};

/* Called once with 0 and the reply, or -1 and why (reg is NULL). */
typedef void (*register_cb)(int rc, const struct registration *reg, const char *why,
                            void *arg);

/* Starts POST /registration?serial_no=S&device_type=T on router. Returns 0,
 * or -1 (cb is not called). */
int register_start(struct event_base *base, const struct cfg_addr *router,
                   const char *serial, uint64_t device_type, register_cb cb, void *arg);

#endif
