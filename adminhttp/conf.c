/* adminhttp's options: one table for defaults, the file and flags. */
#include <stddef.h>
#include <stdint.h>

#include "admin.h"

#define OPT(name, type, field, def, min, max, help) \
    { name, type, offsetof(struct admin_conf, field), def, min, max, help }

static const struct cfg_opt admin_opts[] = {
    OPT("config", CFG_STR, config, NULL, 0, 0, "read options from FILE (\"key value\" lines)"),
    OPT("redis", CFG_ADDR, redis, "127.0.0.1:6379", 0, 0, "Redis host:port"),
    OPT("log-level", CFG_LOGLEVEL, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("http-address", CFG_ADDR, http_address, "127.0.0.1:4173", 0, 0,
        "listen host:port (port 0: any free port); loopback unless told otherwise"),
    OPT("admin-token", CFG_STR, admin_token, NULL, 0, 0,
        "require \"Authorization: Bearer TOKEN\" on /api, /stats and actions"),
    OPT("max-msg-size", CFG_UINT, max_msg_size, "65536", 1, 16777216,
        "largest MSG_SEND_REQ payload in bytes"),
    OPT("offline-max", CFG_UINT, offline_max, "10000", 1, 100000000,
        "messages kept per receiver"),
    OPT("offline-ttl", CFG_UINT, offline_ttl, "604800", 1, 31536000,
        "seconds messages are kept"),
};

const struct cfg_program admin_cfg_program = {
    "adminhttp",
    "serves the JSON MSG_* API, stats, metrics and the dashboard",
    admin_opts,
    sizeof(admin_opts) / sizeof(admin_opts[0]),
};
