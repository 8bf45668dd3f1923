/* adminhttp: the JSON MSG_* API (SPEC 4), stats, metrics and the dashboard
 * (API.md lists the endpoints). */
#ifndef PG_ADMIN_H
#define PG_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api_parse.h"
#include "cfg.h"
#include "clock.h"
#include "cluster_stats.h"
#include "daemon.h"
#include "http_server.h"
#include "keys.h"
#include "log.h"
#include "rconn.h"
#include "sentinel.h"

struct evhttp;
struct evhttp_request;
struct redisReply;

struct admin_conf {
    char *config;
    struct cfg_addr redis;
    struct cfg_redis_ha redis_ha;
    enum log_level log_level;
    struct cfg_addr http_address;
    char *admin_token;
    uint64_t max_msg_size;
    uint64_t offline_max;
    uint64_t offline_ttl;
    struct http_limits http;
};

extern const struct cfg_program admin_cfg_program;

enum admin_script {
    AS_SEND,
    AS_RECV,
    AS_FREE,
    AS_HELO,
    AS_GBYE,
    AS_STATS,
    AS_DEVICE,
    AS_DISCONNECT,
    AS_SWEEP,
    AS_REVOKE,
    AS_COUNT,
};

/* One sample of the cluster totals, a second apart. */
struct admin_sample {
    int64_t t_ms;
    uint64_t in, out;
};

#define HISTORY_LEN 300

struct admin {
    struct admin_conf conf;
    struct event_base *base;
    struct http_server *http;
    struct event *tick_ev;
    struct daemon_signals signals;
    struct rconn redis;
    struct sentinel sentinel;    /* with --redis-sentinels */
    /* the last STATS answer (stats.c), NULL until the first */
    json_t *last_stats;
    struct admin_sample history[HISTORY_LEN];
    size_t hist_len, hist_head;   /* ring: oldest at hist_head */
    int64_t last_sample_ms;
    int sampling;
    /* admin_sweep.lua's SSCAN cursor through pg:kept (stats.c) */
    char sweep_cursor[ARG_INT_MAX];
    int sweeping;
    uint64_t api_requests, api_errors;
};

/* auth.c: 1 if the request carries the admin token (or none is set). */
int auth_check(struct admin *a, struct evhttp_request *req);
/* 0 for a POST whose Origin names another host:port than its Host (a page
 * of another site in an operator's browser), else 1. */
int auth_same_origin(struct evhttp_request *req);
/* auth_same_origin and auth_check, replying 403 {"error":"cross-origin
 * request"} or 401 {"error":"unauthorized"} when one fails. */
int auth_ok(struct admin *a, struct evhttp_request *req);

/* reply.c */
void reply_error(struct evhttp_request *req, int status, const char *error);

/* api.c: POST /api */
void api_handle(struct evhttp_request *req, void *arg);
/* The SPEC 4 reply: {"code","status","msg_type", ...extra}; extra stolen. */
/* reply_type NULL: msg_type null (the request type is not known). */
void api_reply(struct admin *a, struct evhttp_request *req, int status,
               const struct api_reply_type *reply_type, json_t *extra);

/* api_msg.c: one handler per request type; fields already checked */
struct api_req {
    struct admin *a;
    struct evhttp_request *req;
    struct api_reply_type reply_type;
    json_int_t saddr, daddr, id;
};
void api_send(struct api_req *r, const char *payload, size_t len);
void api_recv(struct api_req *r);
void api_free(struct api_req *r);
void api_helo(struct api_req *r);
void api_gbye(struct api_req *r);
void api_stat(struct api_req *r);

/* stats.c */
void stats_tick(struct admin *a, int64_t now);
void stats_handle(struct evhttp_request *req, void *arg);
void metrics_handle(struct evhttp_request *req, void *arg);
/* The totals object of a STATS script reply (new reference), or NULL. */
json_t *stats_parse_totals(const struct redisReply *rep);

/* device.c */
void device_handle(struct evhttp_request *req, void *arg);
void disconnect_handle(struct evhttp_request *req, void *arg);
void revoke_handle(struct evhttp_request *req, void *arg);
void channels_handle(struct evhttp_request *req, void *arg);

/* page.c (generated from dashboard.html) */
extern const char dashboard_html[];
extern const size_t dashboard_html_len;

/* scripts.c */
extern const char *const admin_script_text[AS_COUNT];

#endif
