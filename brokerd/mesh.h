/* The mesh API (SPEC 5): calls from WebSocket clients, services and
 * HTTP, answered through one dispatch table (mesh_methods.c) whatever
 * the transport. A method is a row of that table and a handler in a file
 * of its own (mesh_send.c, mesh_conn.c, ...).
 *
 * A handler gets a struct mesh_call and answers it exactly once, with
 * mesh_reply or mesh_reply_err, now or later (after a Redis reply:
 * mesh_redis). The call holds what it came from (client session, service
 * connection, HTTP request), so it may be answered after that closed:
 * the answer is then dropped. Answering frees the call. */
#ifndef PG_MESH_H
#define PG_MESH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct broker;
struct session;
struct redisReply;
struct ws_service;
struct ws_http;

enum mesh_role { MESH_CLIENT = 1, MESH_SERVICE = 2 };

/* The codes of SPEC 5.2 (the seed's, then ours), one owner: mesh_codes.c
 * has their texts. */
enum mesh_code {
    MESH_E_PARAMS = 101,         /* invalid parameters */
    MESH_E_METHOD = 102,         /* unknown method */
    MESH_E_CONSUME = 201,        /* consume failed */
    MESH_E_CONSUMING = 202,      /* already consuming */
    MESH_E_UNPOP = 203,          /* unpop failed */
    MESH_E_CALL = 301,           /* call failed */
    MESH_E_SEND = 401,           /* send failed: no such client */
    MESH_E_ROLE = 403,           /* not allowed for this role */
    MESH_E_RATE = 429,           /* over a rate limit */
    MESH_E_STORAGE = 503,        /* storage unavailable */
};
/* The code's text ("invalid parameters"). */
const char *mesh_code_text(int code);

struct mesh_call;
typedef void mesh_handler(struct mesh_call *c);

/* One row of the dispatch table. */
struct mesh_method {
    const char *name;            /* "mesh.send" */
    unsigned roles;              /* MESH_CLIENT | MESH_SERVICE */
    int ws_only;                 /* not served as POST /v1/... */
    mesh_handler *run;
    int quiet_without_id;        /* a call without "i" gets no reply (msg.fin) */
};

/* The handlers of the table's rows, each in its own file. */
mesh_handler mesh_send;          /* mesh_send.c */
mesh_handler mesh_conn_call;     /* mesh_conn.c */
mesh_handler mesh_msg_fin;       /* mesh_fin.c */
mesh_handler mesh_queue_pop;     /* mesh_queue.c */
mesh_handler mesh_queue_unpop;   /* mesh_queue.c */
mesh_handler mesh_publish;       /* mesh_chan.c */
mesh_handler mesh_multicast;     /* mesh_sends.c */
mesh_handler mesh_send_bulk;     /* mesh_sends.c */
mesh_handler mesh_publish_bulk;  /* mesh_sends.c */
mesh_handler mesh_broadcast;     /* mesh_broadcast.c */
mesh_handler mesh_conn_count;    /* mesh_reads.c */
mesh_handler mesh_topic_count;   /* mesh_reads.c */
mesh_handler mesh_conn_list;     /* mesh_reads.c */
mesh_handler mesh_topic_list;    /* mesh_reads.c */
mesh_handler mesh_conn_online;   /* mesh_reads.c */
mesh_handler mesh_conn_info;     /* mesh_info.c */
mesh_handler mesh_topic_members; /* mesh_info.c */
mesh_handler mesh_topic_member_count; /* mesh_info.c */
mesh_handler mesh_conn_token;    /* mesh_token.c */
mesh_handler mesh_conn_offline;  /* mesh_offline.c */
mesh_handler mesh_conn_offline_guests; /* mesh_offline.c */
mesh_handler mesh_conn_info_delete; /* mesh_offline.c */
mesh_handler mesh_topic_delete;  /* mesh_offline.c */
mesh_handler mesh_gateway_metrics; /* mesh_metrics.c */

/* Items one call of issue 13 may carry: the ids of mesh.multicast, the
 * items of mesh.send_bulk, the channels of mesh.publish_bulk's items in
 * all, and every array of client ids or channels of the 5.4 calls. More
 * is 101 and changes nothing: each call is one bounded script. */
#define MESH_ITEMS_MAX 1000
mesh_handler mesh_gateway_limit; /* mesh_limits.c */

/* The row of name, or NULL. */
const struct mesh_method *mesh_method_find(const char *name);

struct mesh_call {
    struct broker *b;            /* the loop the call runs on */
    const struct mesh_method *method;
    enum mesh_role role;
    struct session *client;      /* the calling client (held); NULL for a service */
    struct ws_service *svc;      /* the service connection (held); NULL for HTTP or a client */
    struct ws_http *http;        /* the HTTP request (held); NULL over WebSocket */
    json_t *p;                   /* the params, an object (the call holds a reference) */
    json_t *i;                   /* the request id to echo (a reference); NULL: none */
    int quiet;                   /* no reply is written (msg.fin without an id) */
    void (*redis_done)(struct mesh_call *c, struct redisReply *r);  /* mesh_redis's */
    void *state;                 /* a handler's own between its steps; it frees it */
};

/* Answers c with result r (stolen) and frees c. */
void mesh_reply(struct mesh_call *c, json_t *r);
/* Answers c with error code (msg NULL: the code's text) and frees c. */
void mesh_reply_err(struct mesh_call *c, int code, const char *msg);
/* {"s":true}, the answer of most calls. */
void mesh_reply_ok(struct mesh_call *c);

/* A Redis script (enum store_script, | STORE_ACK when its success is an
 * acknowledgement: store_send) or command (STORE_CMD) for c: done
 * gets the reply (NULL when the connection to Redis was lost) and must
 * answer c. -1 when Redis is away: then done is never called and the
 * caller answers (MESH_E_STORAGE). */
typedef void mesh_redis_cb(struct mesh_call *c, struct redisReply *r);
int mesh_redis(struct mesh_call *c, mesh_redis_cb *done, int script, int nkeys, int argc,
               const char **argv, const size_t *argvlen);

/* Params: an id (a decimal string or a JSON integer, SPEC 5.2) at key;
 * 0 and *out, or -1 when missing or malformed. */
int mesh_param_id(const json_t *p, const char *key, int64_t *out);
/* The same for a value v of the params (an item of an array). */
int mesh_id_value(const json_t *v, int64_t *out);
/* Params: an array of 1..MESH_ITEMS_MAX client ids (strings or JSON
 * integers) at key, repeats dropped (the first kept, order held) into a
 * malloc'd *ids of *n. 0, or -1 (the call is 101; nothing allocated). */
int mesh_param_ids(const json_t *p, const char *key, int64_t **ids, size_t *n);
/* The data of a send: `d` (base64 when `t` is "binary") decoded into a
 * malloc'd *data; 0, or -1 (MESH_E_PARAMS) when `d` is not a string, is
 * empty, does not decode or is over max (SPEC 5.5 "Sizes"). */
int mesh_param_data(const json_t *p, size_t max, char **data, size_t *len);

/* Runs one call that came as text (a WebSocket frame) from a client
 * (client set) or a service connection (svc set): the envelope is
 * parsed, checked, dispatched. Returns 0, or -1 when text is not a call
 * (no object with an "m" key): the caller's business then. */
int mesh_call_text(struct broker *b, struct session *client, struct ws_service *svc,
                   const char *text, size_t len);

/* msg.fin in its usual form without a request id, done without a JSON
 * parse (mesh_fin_quick.c): 0, or -1 when text is any other frame. */
int mesh_fin_quick(struct session *client, const char *text, size_t len);

/* An event {"e":name,"p":p,"id":null} as compact JSON (malloc'd, *len
 * set); steals p. */
char *mesh_event_text(const char *name, json_t *p, size_t *len);

/* A send's params (mesh.send, mesh.publish): the optional "mid" (*has_mid
 * says whether it came) and the data (mesh_param_data). 0, or -1 once c
 * is answered with MESH_E_PARAMS. */
int mesh_param_send(struct mesh_call *c, int64_t *mid, int *has_mid, char **data, size_t *len);

/* The call's "c", an array of client ids (mesh_param_ids). 0, or -1
 * once c is answered with MESH_E_PARAMS. */
int mesh_call_ids(struct mesh_call *c, int64_t **ids, size_t *n);

/* Answers c from a script's reply r: {"s":true} for "ok", the code of
 * its status in table (ended by a NULL status), MESH_E_STORAGE else. */
struct mesh_status {
    const char *status;
    int code;
    const char *msg;
};
void mesh_reply_script(struct mesh_call *c, const struct redisReply *r,
                       const struct mesh_status *table);

/* ---- limits (mesh_limits.c) ---- */

/* Whether b may take one more WebSocket upgrade now (accept_per_s);
 * else HTTP 429. */
int mesh_accept_allowed(struct broker *b);
/* A client's mesh.send/mesh.publish over messages_per_s: 1 once c is
 * answered with MESH_E_RATE; 0 (counted) otherwise. */
int mesh_over_limit(struct mesh_call *c);

/* ---- the upstream queue's hooks (mesh_queue.c) ---- */

/* Each upstream data frame of a client (SPEC 5.3 "Upstream"): its
 * session, its topic, binary or text, the bytes. */
void mesh_upstream(struct session *client, const char *topic, int binary, const char *data,
                   size_t len);
/* A service connection is closing (its popped topics go to others). */
void mesh_service_closed(struct ws_service *s);
/* Some of s's output was taken by the kernel (ws_service_written grew).
 * Called from inside the output buffer's callback: write more from a
 * deferred event, not from here. */
void mesh_service_wrote(struct ws_service *s);

/* ---- service connections (ws_service.c) ---- */

/* Writes a text frame to s. Returns the output offset its last byte has
 * (compare with ws_service_written), or 0 if s takes no more writes. */
uint64_t ws_service_text(struct ws_service *s, const char *text, size_t len);
/* Bytes of s's output the kernel has taken since s connected. */
uint64_t ws_service_written(const struct ws_service *s);
/* Bytes of output queued and not yet taken. */
size_t ws_service_queued(const struct ws_service *s);
/* The queue's own state of s (NULL until it sets it); freed by the queue
 * in mesh_service_closed. */
void **ws_service_queue_slot(struct ws_service *s);
/* s's loop. */
struct broker *ws_service_broker(const struct ws_service *s);
void ws_service_hold(struct ws_service *s);
void ws_service_release(struct ws_service *s);

/* ---- client connections (ws_client.c) ---- */

/* Whether s is a WebSocket client (else TCP). */
int ws_is_client(const struct session *s);
/* Writes a text frame to the WebSocket client s (nothing if closed). */
void ws_client_text(struct session *s, const char *text, size_t len);
/* The WebSocket client's upstream topic ("default" unless it asked). */
const char *ws_client_topic(const struct session *s);
/* A topic name a client may ask for (SPEC 5.2, 5.5): 1..128 printable
 * ASCII, no spaces, not reserved (starting with '$'). ws_upgrade.c. */
int ws_topic_valid(const char *s);

/* ---- a message as the event a WebSocket client gets (ws_msg.c) ---- */

struct msg;
/* {"e":"message","p":{...},"id":null} for m at attempt, as compact JSON
 * (malloc'd, *len set). */
char *mesh_message_text(const struct msg *m, int64_t attempt, size_t *len);

#endif
