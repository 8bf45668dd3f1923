/* routerd's options: one table for defaults, the file and flags. */
#include <stddef.h>
#include <stdint.h>

#include "router.h"

#define OPT(...) CFG_OPT(struct router_conf, __VA_ARGS__)

static const struct cfg_opt router_opts[] = {
    CFG_DAEMON_OPTS(struct router_conf),
    OPT("registration-address", CFG_ADDR, registration_address, "0.0.0.0:4171", 0, 0,
        "POST /registration listen host:port (port 0: any free port)"),
    OPT("put-address", CFG_ADDR, put_address, "0.0.0.0:8710", 0, 0,
        "POST /put listen host:port (port 0: any free port)"),
    OPT("max-msg-size", CFG_UINT, max_msg_size, "65536", 1, 16777216,
        "largest /put body in bytes"),
    OPT("secret", CFG_STR, secret, NULL, 0, 0,
        "shared secret for device tokens (the brokers' --secret)"),
    OPT("offline-max", CFG_UINT, offline_max, "10000", 1, 100000000,
        "messages kept per device and per channel"),
    OPT("threads", CFG_UINT, threads, "0", 0, LOOPS_MAX,
        "event loops, all on the same ports (0: one per core)"),
    OPT("put-token", CFG_STR, put_token, NULL, 0, 0,
        "require \"Authorization: Bearer TOKEN\" on /put"),
    HTTP_LIMIT_OPTS(struct router_conf, http),
};

const struct cfg_program router_cfg_program = {
    "routerd",
    "registers devices and routes business pushes to brokers",
    router_opts,
    sizeof(router_opts) / sizeof(router_opts[0]),
};
