/* pushcat pop TOPIC...: a worker from a shell (SPEC 5.3 "Upstream", 5.4).
 * Connects to GET /ws/v1?role=service (the upgrade written here, the
 * frames wslay's, client side), sends queue.pop for the topics, and
 * prints every event it gets (queue.pop, conn.open, conn.close, error)
 * as one line of JSON on stdout, exactly as the broker wrote it. A lost
 * connection is made again with backoff (pushcat_retry.h), popping the
 * same topics. Exit 3 when the broker refuses: an upgrade answered 400
 * or 401, or queue.pop answered with an error; 2 for a usage error. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "brokerd/ws_handshake.h"
#include "pushcat_mesh.h"
#include "pushcat_retry.h"

#define POP_HEAD_MAX 8192        /* the upgrade's reply head */
#define POP_REQ_ID "pushcat-pop"

struct pop {
    int fd;
    char head[POP_HEAD_MAX];     /* bytes read past the reply head go to wslay first */
    size_t held, off;
    int refused;                 /* queue.pop answered with an error */
    int popping;                 /* queue.pop answered {"s":true} */
};

static int pop_connect(const struct cfg_addr *a)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    char port[8];
    int fd = -1;
    snprintf(port, sizeof(port), "%u", (unsigned)a->port);
    if (getaddrinfo(a->host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Whether the 101's head carries the Sec-WebSocket-Accept of key (RFC
 * 6455 4.1: else the client fails the connection). */
static int pop_accept_ok(const char *head, const char *key)
{
    char want[29];
    const char *h = strcasestr(head, "\r\nSec-WebSocket-Accept:");
    if (!h)
        return 0;
    h += strlen("\r\nSec-WebSocket-Accept:");
    h += strspn(h, " \t");
    ws_accept_key(key, want);
    return strncmp(h, want, 28) == 0 && (h[28] == '\r' || h[28] == ' ' || h[28] == '\t');
}

/* Writes the upgrade and reads its reply head: the HTTP status (101 on
 * success), or -1 when the connection failed. */
static int pop_upgrade(struct pop *p, const struct mesh_opts *o)
{
    unsigned char nonce[16];
    char key[32], req[1024], auth[300] = "";
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
    if (o->service_token && *o->service_token)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", o->service_token);
    int n = snprintf(req, sizeof(req),
                     "GET /ws/v1?role=service HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     o->ws.host, (unsigned)o->ws.port, key, auth);
    if (n < 0 || (size_t)n >= sizeof(req) || send(p->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    p->held = p->off = 0;
    char *end = NULL;
    while (!end) {
        if (p->held == sizeof(p->head) - 1)
            return -1;
        ssize_t r = recv(p->fd, p->head + p->held, sizeof(p->head) - 1 - p->held, 0);
        if (r <= 0)
            return -1;
        p->held += (size_t)r;
        p->head[p->held] = '\0';
        end = strstr(p->head, "\r\n\r\n");
    }
    p->off = (size_t)(end + 4 - p->head);
    int status;
    if (sscanf(p->head, "HTTP/1.1 %d", &status) != 1)
        return -1;
    return status != 101 || pop_accept_ok(p->head, key) ? status : -1;
}

static ssize_t pop_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                        void *user)
{
    struct pop *p = user;
    (void)flags;
    if (p->off < p->held) {
        size_t n = p->held - p->off < len ? p->held - p->off : len;
        memcpy(buf, p->head + p->off, n);
        p->off += n;
        return (ssize_t)n;
    }
    ssize_t r = recv(p->fd, buf, len, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static ssize_t pop_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                        void *user)
{
    struct pop *p = user;
    (void)flags;
    ssize_t r = send(p->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static int pop_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx; (void)user;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* An event is printed; the reply to queue.pop is judged. */
static void pop_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                    void *user)
{
    struct pop *p = user;
    (void)ctx;
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return;
    json_t *m = json_loadb((const char *)arg->msg, arg->msg_length, 0, NULL);
    const char *i = json_string_value(json_object_get(m, "i"));
    if (i && strcmp(i, POP_REQ_ID) == 0) {
        if (json_is_null(json_object_get(m, "E"))) {
            p->popping = 1;
        } else {
            fprintf(stderr, "pushcat pop: queue.pop refused: %.*s\n", (int)arg->msg_length,
                    (const char *)arg->msg);
            p->refused = 1;
        }
    } else {
        fwrite(arg->msg, 1, arg->msg_length, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    json_decref(m);
}

static const struct wslay_event_callbacks pop_callbacks = {
    pop_recv, pop_send, pop_genmask, NULL, NULL, NULL, pop_msg,
};

/* One connection's life: MESH_EXIT_ERROR when the broker refused, else
 * -1 once it is lost (popping says whether it popped). */
static int pop_session(struct pop *p, const struct mesh_opts *o, const char *call)
{
    int status = pop_upgrade(p, o);
    if (status == 400 || status == 401) {
        fprintf(stderr, "pushcat pop: the upgrade was refused: HTTP %d\n", status);
        return MESH_EXIT_ERROR;
    }
    if (status != 101) {
        if (status > 0)
            fprintf(stderr, "pushcat pop: the upgrade got HTTP %d\n", status);
        return -1;
    }
    wslay_event_context_ptr ctx;
    if (wslay_event_context_client_init(&ctx, &pop_callbacks, p) != 0)
        return -1;
    struct wslay_event_msg msg = { WSLAY_TEXT_FRAME, (const uint8_t *)call, strlen(call) };
    wslay_event_queue_msg(ctx, &msg);
    int rc = -1;
    while (!p->refused && (wslay_event_want_read(ctx) || wslay_event_want_write(ctx))) {
        struct pollfd pfd = { p->fd, (short)(POLLIN | (wslay_event_want_write(ctx) ? POLLOUT : 0)),
                              0 };
        if (p->off == p->held && poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        if (wslay_event_recv(ctx) != 0 || wslay_event_send(ctx) != 0)
            break;
    }
    if (p->refused)
        rc = MESH_EXIT_ERROR;
    wslay_event_context_free(ctx);
    return rc;
}

int pushcat_pop(struct mesh_opts *opts)
{
    struct mesh_opts o = *opts;
    int rc;
    if (o.noperands == 0)
        return mesh_usage(&o, "pop", "one or more topics");
    json_t *topics = json_array();
    for (int k = 0; k < o.noperands; k++)
        json_array_append_new(topics, json_string(o.operands[k]));
    json_t *req = json_pack("{s:s, s:{s:o}, s:s}", "m", "queue.pop", "p", "t", topics, "i",
                            POP_REQ_ID);
    char *call = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    struct pop *p = calloc(1, sizeof(*p));
    unsigned attempt = 0;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (rc = -1; rc < 0;) {
        p->fd = pop_connect(&o.ws);
        p->popping = p->refused = 0;
        if (p->fd >= 0) {
            rc = pop_session(p, &o, call);
            close(p->fd);
        }
        if (rc >= 0)
            break;
        attempt = p->popping ? 1 : attempt + 1;
        int64_t ms = retry_delay_ms(attempt, (uint32_t)rand());
        fprintf(stderr, "pushcat pop: %s %s; again in %lld ms\n", p->popping ? "lost" : "no connection to",
                o.ws.host, (long long)ms);
        struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    free(p);
    free(call);
    mesh_opts_free(&o);
    return rc;
}
