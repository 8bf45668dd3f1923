/* The WebSocket/HTTP port of a broker (SPEC 5): its listener and HTTP
 * requests (ws_http.c, ws_listen.c), the upgrade (ws_upgrade.c), frames
 * in and out (ws_io.c), client connections (ws_client.c, a transport of
 * struct session) and service connections (ws_service.c). */
#ifndef PG_WS_H
#define PG_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <http_parser.h>
#include <wslay/wslay.h>

#include "broker.h"
#include "mesh.h"
#include "ws_handshake.h"

struct evbuffer;
struct bufferevent;

/* ---- frames of one connection (ws_io.c) ---- */

/* What a connection does with what ws_io reads. */
struct ws_io_ops {
    /* A whole message: opcode WSLAY_TEXT_FRAME or WSLAY_BINARY_FRAME. */
    void (*message)(void *owner, int opcode, const uint8_t *data, size_t len);
    /* A frame came (any frame is liveness). */
    void (*heard)(void *owner);
    /* A close frame went out (wslay's answer to the peer's, or a protocol
     * error's): the connection ends once its output is out. */
    void (*closed)(void *owner);
    /* Whether another frame may be read now (not while too many of its
     * calls wait for Redis, or its output is not being read). */
    int (*may_read)(void *owner);
};

/* Frames one ws_io_read takes before it lets the loop go on (the rest are
 * read in a later pass): no input makes one loop pass long. */
#define WS_FRAMES_PER_READ 64
/* Calls one client, or one service connection, may have waiting for
 * Redis; past it its input waits. */
#define WS_CLIENT_CALLS_MAX 128
#define WS_SERVICE_CALLS_MAX 1024

/* The WebSocket state of a connection, kept small (an idle client's
 * cost): what a read needs besides is passed to ws_io_read. The wslay
 * context (about 9 KB) is made for the frames read and freed when none is
 * half read and no fragmented message is open: an idle connection does
 * not carry it. */
struct ws_io {
    struct bufferevent *bev;     /* NULL once closed */
    wslay_event_context_ptr ctx; /* NULL while idle */
    uint32_t frag_len;           /* bytes of the open fragmented message */
    uint8_t frag_open;           /* a fragmented message is open */
    uint8_t close_sent;          /* no more frames go out */
    uint8_t reading;             /* inside ws_io_read: the context stays */
};

void ws_io_init(struct ws_io *io, struct bufferevent *bev);
/* Reads the whole frames in the input, handing what they say to ops
 * (with owner); a message over max_msg closes with 1009. */
void ws_io_read(struct broker *b, struct ws_io *io, const struct ws_io_ops *ops, void *owner,
                uint64_t max_msg);
/* Queues a frame (opcode, payload) on io's output, encoded by b's wslay
 * frame encoder; nothing once the close frame went. */
void ws_io_frame(struct broker *b, struct ws_io *io, int opcode, const void *data, size_t len);
/* Queues a close frame with code (and a short reason). */
void ws_io_close(struct broker *b, struct ws_io *io, uint16_t code, const char *reason);
/* The wslay context, if any, goes (at the end of ws_io_read when called
 * inside it); the bufferevent is the caller's. */
void ws_io_free(struct ws_io *io);
/* Encodes one frame into out (the per-loop encoder of b). */
void ws_frame_encode(struct broker *b, struct evbuffer *out, int opcode, const void *data,
                     size_t len);

/* ---- the loop's part (ws_listen.c) ---- */

struct ws_loop {
    struct listener listener;
    char bound[CFG_HOST_MAX + 8];
    wslay_frame_context_ptr enc; /* frame encoder: server frames are the same
                                    for every connection */
    struct evbuffer *enc_out;    /* where enc writes, during ws_frame_encode */
    /* the read in progress (ws_io_read): wslay's callbacks find it here */
    struct ws_io *cur;
    const struct ws_io_ops *cur_ops;
    void *cur_owner;
    uint32_t feed;               /* bytes wslay may read now (whole frames) */
    wslay_frame_context_ptr dec; /* the decoder of quick frames (ws_io.c) */
    struct evbuffer_ptr dec_at;  /* where it reads the input now, and how much */
    size_t dec_left;             /* is left of the frame */
    LIST_HEAD(, ws_http) https;  /* HTTP connections not upgraded */
    uint32_t nhttp;
    LIST_HEAD(, ws_service) services; /* service connections */
    uint32_t nservices;
    _Atomic uint32_t nclients;   /* WebSocket clients (other loops add them up) */
    uint64_t upgrades, calls;    /* counters for /metrics */
};

int ws_loop_setup(struct broker *b, const struct cfg_addr *addr, enum net_share share);
void ws_loop_want(struct broker *b, int on);  /* accept (Redis ready) or not */
void ws_loop_stop(struct broker *b);          /* stop accepting, finish connections */
void ws_loop_free(struct broker *b);

/* ---- a connection's bufferevent (ws_sock.c) ---- */

/* The bufferevent of accepted fd (closed on failure: NULL): the socket's,
 * or with --ws-tls the top of TLS over it (accepting), each layer reading
 * at most read_max. Its write callback runs once the output is out of
 * every layer (with TLS, again when the socket's own write empties it). */
struct bufferevent *ws_sock_new(struct broker *b, int fd, size_t read_max);
/* Output bytes the kernel has not taken yet, in every layer. */
size_t ws_sock_queued(struct bufferevent *bev);
/* Writes what waits, at the end of the pass (output_flush_session): 0 once
 * all is out, 1 when some waits, -1 when s was closed (bev with it). */
int ws_sock_flush(struct session *s, struct bufferevent *bev);
/* Our FIN (the output is out). */
void ws_sock_shut(struct bufferevent *bev);
/* After its input was read: what TLS holds below is read in a later pass. */
void ws_sock_refill(struct bufferevent *bev);
/* Logs (debug) a TLS error that ended it: who and id name the connection. */
void ws_sock_event(struct bufferevent *bev, short what, const char *who, const void *id);
/* No layers: what leaves the top's output is what the kernel took. */
int ws_sock_clear(struct bufferevent *bev);
/* Frees it, and the layers under it. */
void ws_sock_free(struct bufferevent *bev);

/* ---- an HTTP connection on the port (ws_http.c) ---- */

struct ws_http {
    struct broker *b;
    struct bufferevent *bev;
    struct event *deadline_ev;
    http_parser parser;
    size_t head_bytes;           /* of the request head so far */
    char *url;                   /* the request target */
    size_t url_len;
    /* the headers that matter here (malloc'd, NULL: absent) */
    char *h_upgrade, *h_connection, *h_key, *h_version, *h_auth, *h_expect;
    char **h_cur;                /* the header whose value is being read */
    int h_new_field;             /* a field name is being read */
    char field[32];              /* its name (longer ones matter not) */
    size_t field_len;
    struct evbuffer *body;
    int refused;                 /* the request got its answer early (413...) */
    int busy;                    /* a request is being answered */
    int closing;                 /* the reply is the last */
    int refs;                    /* calls answering it */
    int dead;                    /* closed: freed once refs is 0 */
    LIST_ENTRY(ws_http) link;    /* in its loop's https */
};

/* Accepted connection fd on b. */
void ws_http_accept(struct broker *b, int fd);
/* The reply to the request h is busy with: status, type, body. */
void ws_http_reply(struct ws_http *h, int status, const char *type, const char *body,
                   size_t len);
/* A whole reply into out (last: "Connection: close"), for whoever holds
 * the socket (a client refused before its upgrade too). */
void ws_http_write_reply(struct evbuffer *out, int status, const char *type, const char *body,
                         size_t len, int last);
/* An envelope reply (SPEC 5: HTTP form of a call) with status. Steals env. */
void ws_http_reply_json(struct ws_http *h, int status, json_t *env);
/* The connection is done with: closes it (now, or once its calls are). */
void ws_http_close(struct ws_http *h);
void ws_http_hold(struct ws_http *h);
void ws_http_release(struct ws_http *h);
/* The request's query parameter (decoded): 0 and *val (malloc'd), 1 when
 * absent, -1 when repeated or the query is malformed. */
int ws_http_param(struct ws_http *h, const char *name, char **val);
/* Takes the connection's socket from h (for the upgrade): h is freed. */
struct bufferevent *ws_http_take(struct ws_http *h);

/* ws_upgrade.c: GET /ws/v1 */
void ws_upgrade(struct ws_http *h);
/* The token check of a service: bearer header or service_token. */
int ws_service_token_ok(struct ws_http *h);

/* mesh_call.c: POST /v1/<method> (path: after "/v1/") */
/* The checks the head decides (405, 404, 401, 413): -1 once answered. */
int mesh_http_head(struct ws_http *h, const char *path, size_t len);
void mesh_http(struct ws_http *h, const char *path, size_t len);
/* The largest body or service frame: max-msg-size * 4/3 + 64 KiB. */
uint64_t mesh_max_envelope(const struct broker *b);

/* ---- a client (ws_client.c) ---- */

struct ws_client {
    struct session s;            /* first: a session is its ws_client */
    struct ws_io io;
    char *topic;                 /* NULL: "default" */
    char *key;                   /* Sec-WebSocket-Key until the 101 is sent */
    uint16_t calls;              /* calls in flight (mesh_call.c) */
    uint8_t upgraded;            /* 101 sent */
    uint8_t lingering;
};

/* A call of client s begins or ends (its input waits past the limit). */
void ws_client_call(struct session *s, int delta);

/* A client connection on bev, identifying as id (0: anonymous) with
 * heartbeat seconds, token (may be NULL), topic (stolen, may be NULL). */
void ws_client_start(struct broker *b, struct bufferevent *bev, const char *key, int64_t id,
                     int64_t heartbeat, const char *token, char *topic);

/* ws_msg.c: m's attempt-1 message event as a frame, built once
 * (m->ws1, m->ws1_len). */
void ws_msg_frame(struct broker *b, struct msg *m);

/* ---- a service (ws_service.c) ---- */

struct ws_service {
    struct broker *b;
    struct ws_io io;
    void *queue;                 /* the upstream queue's state (mesh_queue.c) */
    uint64_t added;              /* output bytes queued since it connected */
    uint64_t written;            /* of those, taken by the kernel */
    int refs;                    /* its connection's, and each call's */
    uint32_t calls;              /* calls in flight (mesh_call.c) */
    uint8_t dead;
    uint8_t lingering;
    LIST_ENTRY(ws_service) link; /* in its loop's services */
};

/* A call of service s begins or ends (its input waits past the limit). */
void ws_service_call(struct ws_service *s, int delta);
/* A service connection on bev after the 101 (key: its accept). */
void ws_service_start(struct broker *b, struct bufferevent *bev, const char *key);
/* Finishes every service connection (the loop stops). */
void ws_service_stop_all(struct broker *b);
void ws_service_free_all(struct broker *b);


#endif
