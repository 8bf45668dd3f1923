/* routerd's options: one table for defaults, the file and flags. */
#include <stddef.h>
#include <stdint.h>

#include "router.h"

#define OPT(name, type, field, def, min, max, help) \
    { name, type, offsetof(struct router_conf, field), def, min, max, help }

static const struct cfg_opt router_opts[] = {
    OPT("config", CFG_STR, config, NULL, 0, 0, "read options from FILE (\"key value\" lines)"),
    OPT("redis", CFG_ADDR, redis, "127.0.0.1:6379", 0, 0, "Redis host:port"),
    OPT("log-level", CFG_LOGLEVEL, log_level, "info", 0, 0, "debug, info, warn or error"),
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
};

const struct cfg_program router_cfg_program = {
    "routerd",
    "registers devices and routes business pushes to brokers",
    router_opts,
    sizeof(router_opts) / sizeof(router_opts[0]),
};
