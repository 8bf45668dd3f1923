/* routerd: device registration (/registration) and business pushes (/put),
 * routed to brokers through Redis (SPEC section 3). */
#ifndef PG_ROUTER_H
#define PG_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "clock.h"
#include "daemon.h"
#include "http_server.h"
#include "log.h"
#include "loops.h"
#include "rconn.h"
#include "sentinel.h"

struct evhttp;
struct evhttp_request;
struct evkeyvalq;
struct json_t;
struct redisReply;

/* ---- configuration (conf.c) ---- */

struct router_conf {
    char *config;
    struct cfg_addr redis;
    struct cfg_redis_ha redis_ha;
    enum log_level log_level;
    struct cfg_addr registration_address;
    struct cfg_addr put_address;
    uint64_t max_msg_size;
    char *secret;
    uint64_t offline_max;
    uint64_t threads;
    char *put_token;             /* /put's bearer token; empty: none */
    struct http_limits http;
};

extern const struct cfg_program router_cfg_program;

/* ---- reply codes (SPEC 3) ---- */

enum router_code {
    RC_NOT_FOUND = -1,
    RC_OK = 0,
    RC_PARAM = 1,
    RC_INTERNAL = 2,
    RC_METHOD = 3,
    RC_MSG_EMPTY = 4,
    RC_MSG_TOO_LONG = 5,
    RC_MSG = 6,
    RC_CHANNEL_ID = 7,
    RC_DEVICE_TYPE = 8,
    RC_SERIAL_NO = 9,            /* on /registration */
    RC_NO_SUB = 9,               /* on /put */
};

enum router_script {
    RS_REGISTER,
    RS_PUT,
    RS_FLOOR,
    RS_COUNT,
};

/* Each loop counts its own; /metrics, on any loop, adds them up. Atomic so
 * that another loop may read them while this one counts. */
struct router_stats {
    _Atomic uint64_t registrations;
    _Atomic uint64_t puts;       /* answered code 0 */
    _Atomic uint64_t errors;     /* answered another code */
    _Atomic uint64_t unavailable;  /* answered 503 */
};

struct router_proc;

/* One event loop (--threads runs several, each with its own listeners on
 * the shared ports and its own Redis connection). */
struct router {
    struct router_conf conf;
    struct router_proc *proc;
    int index;                   /* loop 0 handles the signals */
    struct event_base *base;
    struct http_server *reg_http, *put_http;
    char reg_bound[CFG_HOST_MAX + 8], put_bound[CFG_HOST_MAX + 8];
    struct event *tick_ev;
    struct daemon_signals signals;
    struct loop_wake wake;       /* loop 0 stops the others through it */
    struct rconn redis;
    struct sentinel sentinel;    /* with --redis-sentinels */
    struct router_stats stats;
    uint64_t puts_counted;       /* of stats.puts, those added to pg:stats (put_count) */
    int shutting_down;
};

struct router_proc {
    int n;
    struct router *loops;
};

/* reply.c: {"code","msg","data"} with the HTTP status of the code */
/* data is stolen (may be NULL). is_put picks code 9's meaning and status. */
void reply_send(struct router *r, struct evhttp_request *req, enum router_code code,
                int is_put, struct json_t *data);
/* ParamErr with another HTTP status than 400: 401 for /put without the
 * --put-token, 403 for a registration without its bound device_key. */
void reply_param_status(struct router *r, struct evhttp_request *req, int status);
/* InternalErr with HTTP 503: Redis is unreachable. */
void reply_unavailable(struct router *r, struct evhttp_request *req);

/* params.c: the request's parameters (query string, and for /registration
 * a form body). 0, or -1 if they cannot be decoded. Free with
 * params_free. */
int params_read(struct evhttp_request *req, int with_form, struct evkeyvalq *out);
void params_free(struct evkeyvalq *kv);
/* "1".."6" style plain numbers (SPEC 2.6); -1 if absent, -2 if malformed
 * or outside [min, max], else 0 with *out set. */
int params_uint(struct evkeyvalq *kv, const char *name, uint64_t min, uint64_t max,
                uint64_t *out);
int params_id(struct evkeyvalq *kv, const char *name, int64_t *out);

/* checks.c: the parameters, checked in SPEC 3's order; RC_OK or the code
 * to answer. The strings point into kv. */
struct reg_args {
    const char *serial, *name, *key;   /* name, key: NULL when not given */
    uint64_t type;
};
enum router_code reg_check(struct evkeyvalq *kv, struct reg_args *a);
struct put_args {
    int64_t channel, device;           /* device 0: the channel's subscribers */
    uint64_t type, ttl;                /* type 0: every type; ttl in seconds */
};
enum router_code put_check(struct evkeyvalq *kv, struct put_args *a);

/* registration.c, put.c */
void registration_handle(struct evhttp_request *req, void *arg);
void put_handle(struct evhttp_request *req, void *arg);
/* Adds the puts accepted since its last call to pg:stats' messages_in. */
void put_count(struct router *r);

/* request.c: a /put or /registration request. The entry check: POST
 * only (else MethodErr); 0 to go on. */
int router_request_ok(struct router *r, struct evhttp_request *req, int is_put);
/* The callback argument of the request's script: the router and the request
 * to answer when the reply comes. */
struct router_request {
    struct router *r;
    struct evhttp_request *req;
};
struct router_request *request_new(struct router *r, struct evhttp_request *req);
/* The script could not be sent (Redis not ready): frees rq, answers 503. */
void request_unsent(struct router_request *rq);
/* In the script's callback: frees the carrier arg; returns its request and
 * sets *r. */
struct evhttp_request *request_take(void *arg, struct router **r);
/* A reply not of the script's shape (NULL when the connection went): answers
 * 503, and logs it if Redis said why. */
void request_bad_reply(struct router *r, struct evhttp_request *req, const char *script,
                       const struct redisReply *rep);

/* scripts.c */
extern const char *const router_script_text[RS_COUNT];

/* http.c: /ping, /metrics and the listeners. Loop 0 binds the configured
 * addresses; the others bind the ports it got (SO_REUSEPORT when n > 1). */
int router_http_start(struct router *r);

#endif
