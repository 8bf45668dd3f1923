/* pushcat: a command-line device for a pushgate broker (SPEC section 2).
 * Flow: connect -> magic + IDENTIFY -> OK -> SUB each channel, one at a
 * time -> PUB and print its Ack (--pub), or print every Message as a line
 * and FIN it -> CLS on the way out. A message is FINed only once its line
 * is flushed to stdout (SPEC 2.5); messages pushcat does not print (publish
 * mode, closing, past --count) stay pending for the device's next session.
 * A lost connection (EOF, an error, heartbeats unanswered) is retried with
 * backoff (pushcat_retry.h); with --router, a connection that fails before
 * IDENTIFY's OK asks /registration for a live broker first. With --tls or
 * --deflate, IDENTIFY asks for them and its JSON reply says what was
 * granted: TLS and deflate are then stacked on the socket (layers.h) and
 * the OK comes through them (SPEC 2.8). Each state change is a line on
 * stderr. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cfg.h"
#include "frame.h"
#include "layers.h"
#include "log.h"
#include "numparse.h"
#include "proto.h"
#include "proto_errors.h"
#include "pushcat_layers.h"
#include "pushcat_mesh.h"
#include "pushcat_register.h"
#include "pushcat_retry.h"
#include "pushcat_seen.h"
#include "xmalloc.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
#define PC_RUN (-1)               /* pushcat_init: go on and connect */
#define PC_MAX_FRAME (16u << 20)  /* far above any sensible max-msg-size */
#define PC_CLOSE_WAIT_SEC 2       /* how long CLS waits for CLOSE_WAIT */
#define PC_TOKEN_MAX 256          /* tokens are 64 hex digits (SPEC 2.7) */

struct pushcat_conf {
    struct cfg_addr broker, router;
    char *client_id, *token, *sub, *to, *channel, *message_id;   /* ids: numparse */
    char *serial_no, *ca;
    uint64_t heartbeat, count, device_type, level;
    enum log_level log_level;
};

#define OPT(...) CFG_OPT(struct pushcat_conf, __VA_ARGS__)
static const struct cfg_opt pushcat_opts[] = {
    OPT("broker", CFG_ADDR, broker, "127.0.0.1:8600", 0, 0, "broker TCP address host:port"),
    OPT("client-id", CFG_STR, client_id, NULL, 0, 0, "device id to IDENTIFY as (required without --router)"),
    OPT("router", CFG_ADDR, router, NULL, 0, 0, "routerd's /registration address: register there for the device id and broker, and again when the broker is gone"),
    OPT("serial-no", CFG_STR, serial_no, NULL, 0, 0, "with --router: the device's serial number (required)"),
    OPT("device-type", CFG_UINT, device_type, "6", 1, 6, "with --router: the device type (1..6; 4, iOS, gets no broker)"),
    OPT("token", CFG_STR, token, NULL, 0, 0, "token for IDENTIFY (brokers with a secret)"),
    OPT("heartbeat", CFG_UINT, heartbeat, "30", 1, 3600, "seconds between heartbeats"),
    OPT("sub", CFG_STR, sub, NULL, 0, 0, "channel ids to subscribe to, comma-separated"),
    OPT("to", CFG_STR, to, "0", 0, 0, "with --pub: target device id, 0 = the channel"),
    OPT("channel", CFG_STR, channel, NULL, 0, 0, "with --pub: channel id (required with --pub)"),
    OPT("message-id", CFG_STR, message_id, NULL, 0, 0, "with --pub: message id (default: from the clock)"),
    OPT("count", CFG_UINT, count, "0", 0, INT64_MAX, "exit after this many messages, 0 = never"),
    OPT("ca", CFG_STR, ca, NULL, 0, 0, "with --tls: PEM file of the CA certificates to trust (default: the system's)"),
    OPT("level", CFG_UINT, level, "6", 1, 9, "with --deflate: the compression level to ask for"),
    OPT("log-level", CFG_LOGLEVEL, log_level, "warn", 0, 0, "how much to log on stderr"),
};
#undef OPT

static const struct cfg_program pushcat_prog = {
    "pushcat",
    "print messages from a pushgate broker; with --pub [MESSAGE], publish MESSAGE (or stdin); "
    "reconnects unless --no-reconnect; --tls [--insecure] and --deflate ask for TLS and deflate",
    pushcat_opts,
    sizeof(pushcat_opts) / sizeof(pushcat_opts[0]),
};

enum pc_state {
    ST_WAITING,          /* no connection: registering, or waiting to retry */
    ST_CONNECTING,       /* TCP connect in progress */
    ST_IDENTIFYING,      /* magic and IDENTIFY sent, waiting for OK */
    ST_SUBSCRIBING,      /* SUB subs[next_sub - 1] sent, waiting for OK */
    ST_PUBLISHING,       /* PUB sent, waiting for the Ack */
    ST_RUNNING,          /* printing messages */
    ST_CLOSING,          /* CLS sent, waiting for CLOSE_WAIT or EOF */
};

struct pushcat {
    struct pushcat_conf conf;
    struct event_base *base;
    struct bufferevent *bev;
    struct event *tick;         /* heartbeats; after CLS, the close deadline */
    struct event *sigs[2];      /* SIGINT, SIGTERM */
    struct event *retry;        /* the next attempt, after a backoff */
    enum pc_state state;
    struct cfg_addr addr;       /* the broker: --broker, or the registration's */
    char reg_token[sizeof(((struct registration *)0)->token)];   /* the registration's */
    unsigned attempt;           /* retries since the last IDENTIFY OK */
    int no_reconnect, must_register, registered;
    int tls, insecure, deflate; /* --tls, --insecure, --deflate */
    SSL_CTX *tls_ctx;
    struct bufferevent *tls_bev; /* this connection's TLS layer, once granted */
    int layered;                /* this connection's layers are stacked */
    struct seen *seen;          /* printed (from, message id) pairs */
    int64_t client_id;
    int64_t *subs;              /* channels to SUB, in order */
    size_t nsubs, next_sub;
    int pub;                    /* publish mode */
    int64_t to, channel, message_id;
    struct evbuffer *body;      /* PUB body */
    uint64_t received;          /* messages printed and FINed */
    int exit_code, done;        /* returned once the loop ends; finish() ran */
};

/* Says "pushcat: <what>" and where to look; evaluates to EXIT_USAGE. */
#define usage_error(...) (fprintf(stderr, "pushcat: " __VA_ARGS__), \
                          fputs("\nTry 'pushcat --help'.\n", stderr), EXIT_USAGE)

/* cfg has no value-less flags and no operands: take --pub, --no-reconnect,
 * --tls, --insecure, --deflate and the MESSAGE operand out of argv and
 * leave the rest (in out) for cfg_load. Every
 * "--name" without '=', but --help and --version, is followed by a value.
 * Returns the number of arguments in out, or -1 with err filled. */
static int args_split(struct pushcat *pc, int argc, char **argv, char **out,
                      const char **message, char *err, size_t errlen)
{
    int i, n = 0, operands_only = 0;

    out[n++] = argv[0];
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!operands_only && strcmp(a, "--pub") == 0) {
            pc->pub = 1;
        } else if (!operands_only && strcmp(a, "--no-reconnect") == 0) {
            pc->no_reconnect = 1;
        } else if (!operands_only && strcmp(a, "--tls") == 0) {
            pc->tls = 1;
        } else if (!operands_only && strcmp(a, "--insecure") == 0) {
            pc->insecure = 1;
        } else if (!operands_only && strcmp(a, "--deflate") == 0) {
            pc->deflate = 1;
        } else if (!operands_only && strcmp(a, "--") == 0) {
            operands_only = 1;
        } else if (!operands_only && a[0] == '-' && a[1] != '\0') {
            out[n++] = argv[i];
            if (strncmp(a, "--", 2) == 0 && strchr(a, '=') == NULL && i + 1 < argc &&
                strcmp(a, "--help") != 0 && strcmp(a, "--version") != 0)
                out[n++] = argv[++i];
        } else if (*message == NULL) {
            *message = a;
        } else {
            snprintf(err, errlen, "only one MESSAGE argument is allowed");
            return -1;
        }
    }
    out[n] = NULL;
    return n;
}

/* Checks an id option; a missing one (NULL or "") is an error too.
 * Returns 0, or EXIT_USAGE after saying what is wrong. */
static int id_option(const char *name, const char *value, int zero_ok, int64_t *out)
{
    size_t len = value != NULL ? strlen(value) : 0;

    if (len == 0)
        return usage_error("--%s is required", name);
    if ((zero_ok ? parse_id_or_zero(value, len, out) : parse_id(value, len, out)) != 0)
        return usage_error("--%s: '%s' is not a valid id", name, value);
    return 0;
}

/* "1,2,3" -> pc->subs. Returns 0, or -1 on an empty or malformed id. */
static int parse_sub_list(struct pushcat *pc, const char *list)
{
    const char *p;
    size_t len;

    /* Each id takes a digit and a comma, so there are at most len / 2 + 1. */
    pc->subs = xcalloc(strlen(list) / 2 + 1, sizeof(pc->subs[0]));
    for (p = list;; p += len + 1) {
        len = strcspn(p, ",");
        if (parse_id(p, len, &pc->subs[pc->nsubs++]) != 0)
            return -1;
        if (p[len] == '\0')
            return 0;
    }
}

/* Unique per sender in practice: microseconds since the epoch times 1000
 * plus the pid's last three digits (an int64 until the year 2262). */
static int64_t default_message_id(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) * 1000 + getpid() % 1000;
}

/* The PUB body: MESSAGE, or all of stdin. Returns 0 or -1. */
static int load_body(struct pushcat *pc, const char *message)
{
    int n;

    if ((pc->body = evbuffer_new()) == NULL)
        return -1;
    if (message != NULL)
        return evbuffer_add(pc->body, message, strlen(message));
    do
        n = evbuffer_read(pc->body, STDIN_FILENO, 65536);
    while (n > 0 && evbuffer_get_length(pc->body) <= PC_MAX_FRAME);
    if (n == 0 && evbuffer_get_length(pc->body) <= PC_MAX_FRAME)
        return 0;
    fprintf(stderr, "pushcat: stdin: %s\n", n < 0 ? strerror(errno) : "message too large");
    return -1;
}

/* Options -> pc. Returns PC_RUN, or the status to exit with. */
static int pushcat_init(struct pushcat *pc, int argc, char **argv)
{
    char err[256];
    char **cargv = xcalloc((size_t)argc + 1, sizeof(*cargv));
    const char *message = NULL;
    struct pushcat_conf *c = &pc->conf;
    int rc;

    log_set_program("pushcat");
    rc = args_split(pc, argc, argv, cargv, &message, err, sizeof(err));
    switch (rc < 0 ? CFG_ERR : cfg_load(&pushcat_prog, c, rc, cargv, err, sizeof(err))) {
    case CFG_OK: rc = PC_RUN; break;
    case CFG_EXIT: rc = EXIT_OK; break;
    default: rc = usage_error("%s", err); break;
    }
    free(cargv);
    if (rc != PC_RUN)
        return rc;
    log_set_level(c->log_level);

    if (c->router.host[0] != '\0') {
        if (c->serial_no == NULL)
            return usage_error("--router needs --serial-no");
        pc->must_register = 1;
    } else if (id_option("client-id", c->client_id, 0, &pc->client_id) != 0) {
        return EXIT_USAGE;
    }
    pc->addr = c->broker;
    if (c->token != NULL && (strlen(c->token) > PC_TOKEN_MAX || strpbrk(c->token, "\"\\")))
        return usage_error("--token: at most %d characters, no quotes or backslashes",
                           PC_TOKEN_MAX);
    if ((c->ca != NULL || pc->insecure) && !pc->tls)
        return usage_error("--ca and --insecure go with --tls");
    if (c->ca != NULL && pc->insecure)
        return usage_error("--ca or --insecure, not both");
    if (pc->tls && !(pc->tls_ctx = tls_client_ctx(c->ca, pc->insecure, err, sizeof(err))))
        return fprintf(stderr, "pushcat: %s\n", err), EXIT_FAIL;
    if (c->sub != NULL && *c->sub != '\0' && parse_sub_list(pc, c->sub) != 0)
        return usage_error("--sub: expected channel ids separated by commas");
    if (!pc->pub)
        return message == NULL ? PC_RUN : usage_error("a MESSAGE argument needs --pub");
    if (id_option("channel", c->channel, 0, &pc->channel) != 0 ||
        id_option("to", c->to, 1, &pc->to) != 0)
        return EXIT_USAGE;
    if (c->message_id == NULL || *c->message_id == '\0')
        pc->message_id = default_message_id();
    else if (id_option("message-id", c->message_id, 0, &pc->message_id) != 0)
        return EXIT_USAGE;
    return load_body(pc, message) == 0 ? PC_RUN : EXIT_FAIL;
}

/* Ends the event loop; main frees everything after it returns. */
static void finish(struct pushcat *pc, int code)
{
    pc->exit_code = code;
    pc->done = 1;
    event_base_loopbreak(pc->base);
}

/* Writes line, then the 4-byte big-endian size of the body, then body. */
static void send_with_body(struct pushcat *pc, const char *line, const void *body, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(pc->bev);
    uint32_t be = htonl((uint32_t)len);

    evbuffer_add(out, line, strlen(line));
    evbuffer_add(out, &be, sizeof(be));
    if (len > 0)
        evbuffer_add(out, body, len);
}

/* The magic, then IDENTIFY {"client_id":N,"heartbeat_interval":H} with the
 * token if there is one: --token (pushcat_init checked it fits, with no '"'
 * or '\'), else the registration's (hex digits). */
static void send_identify(struct pushcat *pc)
{
    char json[PC_TOKEN_MAX + 128];
    const char *token = pc->conf.token != NULL ? pc->conf.token : pc->reg_token;
    int n = snprintf(json, sizeof(json), "{\"client_id\":%" PRId64 ",\"heartbeat_interval\":%" PRIu64,
                     pc->client_id, pc->conf.heartbeat);

    if (*token != '\0' && strpbrk(token, "\"\\") == NULL)
        n += snprintf(json + n, sizeof(json) - (size_t)n, ",\"token\":\"%s\"", token);
    n = pushcat_ask_layers(json, n, sizeof(json) - 1, pc->tls, pc->deflate ? (int)pc->conf.level : 0);
    json[n++] = '}';
    bufferevent_write(pc->bev, PROTO_MAGIC, PROTO_MAGIC_LEN);
    send_with_body(pc, PROTO_VERB_IDENTIFY "\n", json, (size_t)n);
    pc->state = ST_IDENTIFYING;
}

/* Sends CLS and waits a little for CLOSE_WAIT, then exits with code. */
static void start_close(struct pushcat *pc, int code)
{
    struct timeval tv = { PC_CLOSE_WAIT_SEC, 0 };

    pc->exit_code = code;
    if (pc->state <= ST_CONNECTING || pc->state == ST_CLOSING) {
        finish(pc, code);
        return;
    }
    pc->state = ST_CLOSING;
    bufferevent_write(pc->bev, PROTO_VERB_CLS "\n", strlen(PROTO_VERB_CLS) + 1);
    evtimer_add(pc->tick, &tv);   /* no more heartbeats: now the deadline */
}

/* After IDENTIFY's or a SUB's OK: the next SUB, the PUB, or just run. */
static void advance(struct pushcat *pc)
{
    char line[128];

    if (pc->next_sub < pc->nsubs) {
        pc->state = ST_SUBSCRIBING;
        evbuffer_add_printf(bufferevent_get_output(pc->bev), PROTO_VERB_SUB " %" PRId64 "\n",
                            pc->subs[pc->next_sub++]);
    } else if (pc->pub) {
        pc->state = ST_PUBLISHING;
        snprintf(line, sizeof(line), PROTO_VERB_PUB " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                 pc->to, pc->channel, pc->message_id);
        send_with_body(pc, line, evbuffer_pullup(pc->body, -1), evbuffer_get_length(pc->body));
    } else {
        pc->state = ST_RUNNING;
        log_info("receiving messages as client %" PRId64, pc->client_id);
    }
}

static void pushcat_read_cb(struct bufferevent *bev, void *arg);
static void pushcat_event_cb(struct bufferevent *bev, short what, void *arg);

/* IDENTIFY's JSON reply to --tls or --deflate: stacks what was granted on
 * the socket, whose unread bytes go through it. 1 when the OK is still to
 * come (through the layers), 0 when this reply was the OK, -1 to stop. */
static int negotiate(struct pushcat *pc, const char *reply)
{
    struct timeval idle = { (time_t)(2 * pc->conf.heartbeat), 0 };
    struct bufferevent *sock = pc->bev;
    int tls, level;

    if (pushcat_granted(reply, &tls, &level) != 0) {
        fprintf(stderr, "pushcat: IDENTIFY's reply is not the JSON of SPEC 2.8: %s\n", reply);
        return -1;
    }
    if (pc->tls && !tls) {
        fprintf(stderr, "pushcat: the broker does not offer TLS\n");
        return -1;
    }
    if (pc->deflate && !level)
        fprintf(stderr, "pushcat: the broker does not grant deflate: going on without\n");
    if (!tls && !level)
        return 0;
    pc->bev = layers_stack(sock, tls ? pc->tls_ctx : NULL, pc->addr.host, level, 0, 0);
    if (pc->bev == NULL) {
        fprintf(stderr, "pushcat: cannot set up TLS or deflate\n");
        return -1;
    }
    pc->layered = 1;
    pc->tls_bev = tls ? (level ? bufferevent_get_underlying(pc->bev) : pc->bev) : NULL;
    bufferevent_setcb(pc->bev, pushcat_read_cb, NULL, pushcat_event_cb, pc);
    bufferevent_set_timeouts(pc->bev, &idle, &idle);
    bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
    if (evbuffer_get_length(bufferevent_get_input(sock)) > 0)
        bufferevent_trigger(sock, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 1;
}

static void on_response(struct pushcat *pc, const char *data)
{
    char addr[CFG_HOST_MAX + 16];

    if (strcmp(data, PROTO_VERB_H) == 0)
        return;
    if (pc->state == ST_IDENTIFYING && (pc->tls || pc->deflate) && !pc->layered) {
        int r = negotiate(pc, data);
        if (r < 0) {
            finish(pc, EXIT_FAIL);
            return;
        }
        if (r > 0)
            return;
    }
    if (pc->state == ST_IDENTIFYING) {
        cfg_format_addr(&pc->addr, addr, sizeof(addr));
        fprintf(stderr, "pushcat: identified as %" PRId64 " on %s\n", pc->client_id, addr);
        pc->attempt = 0;
    }
    if (pc->state == ST_IDENTIFYING || pc->state == ST_SUBSCRIBING)
        advance(pc);
    else if (pc->state == ST_CLOSING && strcmp(data, "CLOSE_WAIT") == 0)
        finish(pc, pc->exit_code);
    else
        log_warn("unexpected response: %s", data);
}

/* E_FIN_FAILED answers a FIN and changes nothing. Any other error either
 * refuses our IDENTIFY, SUB or PUB, so we cannot go on, or is fatal (SPEC
 * 2.2) or E_REPLACED, and the broker is closing anyway. */
static void on_error(struct pushcat *pc, const char *data)
{
    fprintf(stderr, "pushcat: %s\n", data);
    if (!proto_error_is(data, strlen(data), ERR_FIN_FAILED))
        finish(pc, EXIT_FAIL);
}

/* Prints "<message_id> <channel_id> <from_client_id> <attempt> <body>",
 * flushes, then FINs the message; a redelivery of one already printed is
 * only FINed. */
static void on_message(struct pushcat *pc, const char *data, size_t len)
{
    struct frame_msg_meta m;
    const char *body;
    size_t body_len;

    if (frame_msg_parse(data, len, &m, &body, &body_len) != 0) {
        fprintf(stderr, "pushcat: malformed Message frame from the broker\n");
        finish(pc, EXIT_FAIL);
        return;
    }
    if (pc->pub || pc->state == ST_CLOSING)
        return;   /* left pending for a later session */
    if (m.attempt > 1 && seen_has(pc->seen, m.from_client_id, m.message_id)) {
        evbuffer_add_printf(bufferevent_get_output(pc->bev), PROTO_VERB_FIN " %" PRId64 "\n",
                            m.message_id);
        return;
    }
    printf("%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " ",
           m.message_id, m.channel_id, m.from_client_id, m.attempt);
    fwrite(body, 1, body_len, stdout);
    putchar('\n');
    if (fflush(stdout) != 0) {   /* a closed pipe (| head) is a normal end */
        if (errno != EPIPE)
            fprintf(stderr, "pushcat: stdout: %s\n", strerror(errno));
        start_close(pc, errno == EPIPE ? EXIT_OK : EXIT_FAIL);
        return;
    }
    evbuffer_add_printf(bufferevent_get_output(pc->bev), PROTO_VERB_FIN " %" PRId64 "\n", m.message_id);
    seen_add(pc->seen, m.from_client_id, m.message_id);
    if (pc->conf.count > 0 && ++pc->received >= pc->conf.count)
        start_close(pc, EXIT_OK);
}

/* Prints the Ack; when it answers our PUB, exits 0 on ACK 1, 1 on ACK 0. */
static void on_ack(struct pushcat *pc, const char *data)
{
    printf("%s\n", data);
    fflush(stdout);
    if (pc->state == ST_PUBLISHING)
        start_close(pc, strncmp(data, "ACK 1 ", 6) == 0 ? EXIT_OK : EXIT_FAIL);
}

static void pushcat_read_cb(struct bufferevent *bev, void *arg)
{
    struct pushcat *pc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    enum frame_type type;
    enum frame_status st = FRAME_NEED_MORE;
    char *data;
    size_t len;

    /* Once the layers are stacked (negotiate), what is left below is theirs. */
    while (!pc->done && bev == pc->bev &&
           (st = frame_take(in, PC_MAX_FRAME, &type, &data, &len)) == FRAME_OK) {
        switch (type) {
        case FRAME_RESPONSE: on_response(pc, data); break;
        case FRAME_ERROR: on_error(pc, data); break;
        case FRAME_MESSAGE: on_message(pc, data, len); break;
        case FRAME_ACK: on_ack(pc, data); break;
        default: log_warn("ignoring a frame of unknown type %d", (int)type); break;
        }
        free(data);
    }
    if (st == FRAME_BAD) {
        fprintf(stderr, "pushcat: malformed frame from the broker\n");
        finish(pc, EXIT_FAIL);
    }
}

static void connect_broker(struct pushcat *pc);

/* Says why the connection is lost; then, unless --no-reconnect, retries
 * after a backoff (registering first when it never got IDENTIFY's OK and
 * pushcat knows routerd). */
static void lost(struct pushcat *pc, const char *why)
{
    char addr[CFG_HOST_MAX + 16];
    struct timeval tv;
    int64_t ms;

    cfg_format_addr(&pc->addr, addr, sizeof(addr));
    fprintf(stderr, "pushcat: lost %s: %s\n", addr, why);
    if (pc->bev != NULL)
        bufferevent_free(pc->bev);
    pc->bev = NULL;
    evtimer_del(pc->tick);
    if (pc->no_reconnect) {
        finish(pc, EXIT_FAIL);
        return;
    }
    if (pc->state <= ST_IDENTIFYING && pc->conf.router.host[0] != '\0')
        pc->must_register = 1;
    pc->state = ST_WAITING;
    ms = retry_delay_ms(++pc->attempt, (uint32_t)random());
    fprintf(stderr, "pushcat: retrying in %" PRId64 " ms\n", ms);
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    evtimer_add(pc->retry, &tv);
}

static void pushcat_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct pushcat *pc = arg;
    struct timeval tv = { (time_t)pc->conf.heartbeat, 0 };
    int dns_err = bufferevent_socket_get_dns_error(bev);

    if (what & BEV_EVENT_CONNECTED) {
        if (pc->layered)
            return;   /* the TLS handshake is done: the OK follows */
        send_identify(pc);
        evtimer_add(pc->tick, &tv);
        return;
    }
    if ((what & BEV_EVENT_EOF) && pc->state == ST_CLOSING) {
        finish(pc, pc->exit_code);
        return;
    }
    char why[160];
    lost(pc, (what & BEV_EVENT_EOF) ? "the broker closed the connection" :
             (what & BEV_EVENT_TIMEOUT) ? "timed out (nothing for 2 heartbeats)" :
             pc->tls_bev ? tls_error(pc->tls_bev, why, sizeof(why)) :
             dns_err != 0 ? evutil_gai_strerror(dns_err) :
             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* A fresh connection to pc->addr; IDENTIFY follows once it is up. */
static void connect_broker(struct pushcat *pc)
{
    struct timeval idle = { (time_t)(2 * pc->conf.heartbeat), 0 };
    char addr[CFG_HOST_MAX + 16];

    cfg_format_addr(&pc->addr, addr, sizeof(addr));
    fprintf(stderr, "pushcat: connecting to %s\n", addr);
    pc->state = ST_CONNECTING;
    pc->next_sub = 0;   /* SUB is idempotent: every connection asks again */
    pc->layered = 0;
    pc->tls_bev = NULL;
    if ((pc->bev = bufferevent_socket_new(pc->base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
        finish(pc, EXIT_FAIL);
        return;
    }
    bufferevent_setcb(pc->bev, pushcat_read_cb, NULL, pushcat_event_cb, pc);
    /* The broker answers each heartbeat, so silence means it is gone. */
    bufferevent_set_timeouts(pc->bev, &idle, &idle);
    bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
    /* A NULL dns base resolves the host with a blocking getaddrinfo; a
     * failure may already have run the event callback. */
    if (bufferevent_socket_connect_hostname(pc->bev, NULL, AF_UNSPEC, pc->addr.host,
                                            pc->addr.port) != 0 && pc->state == ST_CONNECTING)
        pushcat_event_cb(pc->bev, BEV_EVENT_ERROR, pc);
}

static void registered_cb(int rc, const struct registration *reg, const char *why, void *arg)
{
    struct pushcat *pc = arg;
    char addr[CFG_HOST_MAX + 16];

    if (pc->done)
        return;
    if (rc != 0) {
        cfg_format_addr(&pc->conf.router, addr, sizeof(addr));
        fprintf(stderr, "pushcat: registration at %s failed: %s\n", addr, why);
        pc->state = ST_CONNECTING;   /* lost() re-registers next time */
        lost(pc, "no broker to connect to");
        return;
    }
    pc->client_id = reg->device_id;
    pc->addr = reg->broker;
    snprintf(pc->reg_token, sizeof(pc->reg_token), "%s", reg->token);
    cfg_format_addr(&pc->addr, addr, sizeof(addr));
    fprintf(stderr, "pushcat: %s: device %" PRId64 ", broker %s\n",
            pc->registered ? "re-registered" : "registered", pc->client_id, addr);
    pc->registered = 1;
    pc->must_register = 0;
    connect_broker(pc);
}

/* The next attempt: registration first when the broker is in doubt. */
static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pushcat *pc = arg;

    (void)fd;
    (void)what;
    if (!pc->must_register) {
        connect_broker(pc);
    } else if (register_start(pc->base, &pc->conf.router, pc->conf.serial_no,
                              pc->conf.device_type, registered_cb, pc) != 0) {
        fprintf(stderr, "pushcat: cannot start a registration\n");
        finish(pc, EXIT_FAIL);
    }
}

/* Sends a heartbeat, or after CLS gives up waiting for CLOSE_WAIT. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pushcat *pc = arg;

    (void)fd;
    (void)what;
    if (pc->state == ST_CLOSING)
        finish(pc, pc->exit_code);
    else
        bufferevent_write(pc->bev, PROTO_VERB_H "\n", strlen(PROTO_VERB_H) + 1);
}

/* First SIGINT/SIGTERM: close politely; a second one: leave at once. */
static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct pushcat *pc = arg;

    (void)sig;
    (void)what;
    if (pc->state == ST_CLOSING || pc->state == ST_WAITING)
        finish(pc, pc->state == ST_CLOSING ? pc->exit_code : pc->pub ? EXIT_FAIL : EXIT_OK);
    else
        start_close(pc, pc->pub ? EXIT_FAIL : EXIT_OK);   /* pub: no Ack yet */
}

static int pushcat_run(struct pushcat *pc)
{
    static const int signals[2] = { SIGINT, SIGTERM };
    int i;

    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    pc->seen = xcalloc(1, sizeof(*pc->seen));
    if ((pc->base = event_base_new()) == NULL)
        return EXIT_FAIL;
    for (i = 0; i < 2; i++)
        if ((pc->sigs[i] = evsignal_new(pc->base, signals[i], signal_cb, pc)) == NULL ||
            evsignal_add(pc->sigs[i], NULL) != 0)
            return EXIT_FAIL;
    pc->tick = event_new(pc->base, -1, EV_PERSIST, tick_cb, pc);
    pc->retry = evtimer_new(pc->base, retry_cb, pc);
    if (pc->tick == NULL || pc->retry == NULL)
        return EXIT_FAIL;
    /* The first attempt may already call finish(), and a loopbreak before
     * the loop starts would be forgotten: hence pc->done. */
    retry_cb(-1, 0, pc);
    if (!pc->done)
        event_base_dispatch(pc->base);
    return pc->exit_code;
}

static void pushcat_free(struct pushcat *pc)
{
    struct event *evs[] = { pc->tick, pc->retry, pc->sigs[0], pc->sigs[1] };
    size_t i;

    if (pc->bev != NULL)
        bufferevent_free(pc->bev);
    for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (pc->base != NULL)
        event_base_free(pc->base);
    if (pc->body != NULL)
        evbuffer_free(pc->body);
    free(pc->subs);
    free(pc->seen);
    SSL_CTX_free(pc->tls_ctx);
    cfg_free(&pushcat_prog, &pc->conf);
}

int main(int argc, char **argv)
{
    struct pushcat pc = { 0 };
    if (argc > 1 && (strcmp(argv[1], "call") == 0 || strcmp(argv[1], "pop") == 0))
        return pushcat_mesh(argc - 1, argv + 1);
    int rc = pushcat_init(&pc, argc, argv);

    if (rc == PC_RUN)
        rc = pushcat_run(&pc);
    pushcat_free(&pc);
    return rc;
}
