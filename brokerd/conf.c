/* brokerd's options: one table, used for defaults, the file and flags. */
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

#define OPT(...) CFG_OPT(struct broker_conf, __VA_ARGS__)

static const struct cfg_opt broker_opts[] = {
    CFG_DAEMON_OPTS(struct broker_conf),
    OPT("tcp-address", CFG_ADDR, tcp_address, "0.0.0.0:8600", 0, 0,
        "device protocol listen host:port (port 0: any free port)"),
    OPT("http-address", CFG_ADDR, http_address, "0.0.0.0:8601", 0, 0,
        "HTTP /ping, /stats, /metrics listen host:port"),
    OPT("broadcast-address", CFG_STR, broadcast_address, NULL, 0, 0,
        "host:port given to devices (default: the bound TCP address)"),
    OPT("broker-id", CFG_UINT, broker_id, "0", 0, (1ULL << 52) - 1,
        "this broker's id (0: derived from the broadcast address)"),
    OPT("msg-timeout", CFG_UINT, msg_timeout, "60", 1, 86400,
        "seconds before an un-FINed message is sent again"),
    OPT("max-msg-size", CFG_UINT, max_msg_size, "65536", 1, 16777216,
        "largest PUB body in bytes"),
    OPT("secret", CFG_STR, secret, NULL, 0, 0, "shared secret for device tokens (empty: no check)"),
    OPT("ws-address", CFG_STR, ws_address, "0.0.0.0:6789", 0, 0,
        "WebSocket and mesh HTTP API listen host:port (empty: off)"),
    OPT("ws-broadcast-address", CFG_STR, ws_broadcast_address, NULL, 0, 0,
        "host:port given to WebSocket clients (default: the bound WebSocket address)"),
    OPT("service-token", CFG_STR, service_token, NULL, 0, 0,
        "token of the mesh API's service role (empty: no check)"),
    OPT("max-pending", CFG_UINT, max_pending, "1000", 1, 1000000,
        "un-FINed messages in flight per connection"),
    OPT("max-subs", CFG_UINT, max_subs, "1000", 1, 1000000,
        "channels one device may subscribe to"),
    OPT("max-dedup-per-sender", CFG_UINT, max_dedup_per_sender, "100000", 0, 100000000,
        "PUBs one sender may have accepted in a 10-minute window (0: no bound)"),
    OPT("max-output-bytes", CFG_UINT, max_output_bytes, "4194304", 524288, 1ULL << 32,
        "output bytes queued per connection; a client over it is closed"),
    CFG_OFFLINE_OPTS(struct broker_conf),
    OPT("threads", CFG_UINT, threads, "0", 0, LOOPS_MAX,
        "event loops, all on the TCP port (0: one per core)"),
    OPT("max-connections", CFG_UINT, max_connections, "100000", 1, 100000000,
        "device connections per process; past it, a new one is closed at once"),
    OPT("accept-per-s", CFG_UINT, accept_per_s, "0", 0, LIMITS_MAX,
        "connections accepted per second, TCP and WebSocket (0: no limit; gateway.limit wins)"),
    OPT("messages-per-s", CFG_UINT, messages_per_s, "0", 0, LIMITS_MAX,
        "messages one client may send per second (0: no limit; gateway.limit wins)"),
    OPT("tls-cert", CFG_STR, tls_cert, NULL, 0, 0,
        "PEM certificate (chain) for TLS after IDENTIFY; with tls-key"),
    OPT("tls-key", CFG_STR, tls_key, NULL, 0, 0, "PEM private key of tls-cert"),
    OPT("tls-required", CFG_BOOL, tls_required, "no", 0, 0,
        "refuse an IDENTIFY that does not ask for TLS (needs tls-cert)"),
    OPT("ws-tls", CFG_BOOL, ws_tls, "no", 0, 0,
        "the WebSocket/mesh port speaks TLS: wss:// and https:// (needs tls-cert)"),
    OPT("deflate", CFG_BOOL, deflate, "yes", 0, 0, "grant deflate to devices that ask"),
    OPT("max-deflate-level", CFG_UINT, max_deflate_level, "6", 1, 9,
        "highest deflate level granted"),
    HTTP_LIMIT_OPTS(struct broker_conf, http),
};

const struct cfg_program broker_cfg_program = {
    "brokerd",
    "holds device connections and speaks the pushgate device protocol",
    broker_opts,
    sizeof(broker_opts) / sizeof(broker_opts[0]),
};
