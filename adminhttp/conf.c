/* adminhttp's options: one table for defaults, the file and flags. */
#include <stddef.h>
#include <stdint.h>

#include "admin.h"

#define OPT(...) CFG_OPT(struct admin_conf, __VA_ARGS__)

static const struct cfg_opt admin_opts[] = {
    CFG_DAEMON_OPTS(struct admin_conf),
    OPT("http-address", CFG_ADDR, http_address, "127.0.0.1:4173", 0, 0,
        "listen host:port (port 0: any free port); loopback unless told otherwise"),
    OPT("admin-token", CFG_STR, admin_token, NULL, 0, 0,
        "require \"Authorization: Bearer TOKEN\" on /api, /stats and actions"),
    OPT("max-msg-size", CFG_UINT, max_msg_size, "65536", 1, 16777216,
        "largest MSG_SEND_REQ payload in bytes"),
    CFG_OFFLINE_OPTS(struct admin_conf),
    HTTP_LIMIT_OPTS(struct admin_conf, http),
};

const struct cfg_program admin_cfg_program = {
    "adminhttp",
    "serves the JSON MSG_* API, stats, metrics and the dashboard",
    admin_opts,
    sizeof(admin_opts) / sizeof(admin_opts[0]),
};
