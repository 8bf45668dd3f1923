/* The command table and its dispatch (SPEC 2.2). Every verb is named here
 * and nowhere else, with all that is checked before it runs: its words,
 * whether it needs IDENTIFY, its body and the body's limit, and whether it
 * may be read while PUBs wait for Redis. Each verb's file only acts. */
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "numparse.h"
#include "proto.h"

enum field { F_NONE, F_ID, F_ID_OR_ZERO, F_CHANNEL };

/* Whether a command may come before or after IDENTIFY. */
enum identify_rule { ID_ANY, ID_NEEDED, ID_REFUSED };

struct command {
    const char *name;
    uint8_t words;               /* including the name */
    uint8_t identify;            /* enum identify_rule */
    uint8_t pipelined;           /* may run while PUBs wait for Redis (its reply
                                    then follows theirs) */
    uint8_t has_body;
    uint32_t body_max;           /* 0: the broker's max_msg_size */
    enum proto_error body_err;   /* fatal: the body is over body_max */
    const char *body_why;
    enum field field[3];         /* how words 1..3 parse into c->args */
    /* body is NULL for a command without one */
    void (*run)(struct session *c, const char *body, size_t len);
};

enum { CMD_H, CMD_IDENTIFY, CMD_SUB, CMD_UNSUB, CMD_PUB, CMD_FIN, CMD_CLS, CMD_COUNT };

static const struct command commands[CMD_COUNT];

/* SPEC 2.4: a heartbeat is answered with its own name. */
static void run_h(struct session *c, const char *body, size_t len)
{
    (void)body; (void)len;
    session_response(c, commands[CMD_H].name);
}

static void run_identify(struct session *c, const char *body, size_t len)
{
    cmd_identify(c, body, len);
}

static void run_sub(struct session *c, const char *body, size_t len)
{
    (void)body; (void)len;
    cmd_sub(c, c->args[0]);
}

static void run_unsub(struct session *c, const char *body, size_t len)
{
    (void)body; (void)len;
    cmd_unsub(c, c->args[0]);
}

static void run_pub(struct session *c, const char *body, size_t len)
{
    cmd_pub(c, c->args[0], c->args[1], c->args[2], body, len);
}

static void run_fin(struct session *c, const char *body, size_t len)
{
    (void)body; (void)len;
    cmd_fin(c, c->args[0]);
}

static void run_cls(struct session *c, const char *body, size_t len)
{
    (void)body; (void)len;
    session_response(c, PROTO_RESPONSE_CLOSE_WAIT);
    session_finish(c);
}

static const struct command commands[CMD_COUNT] = {
    [CMD_H] = { .name = PROTO_VERB_H, .words = 1, .run = run_h },
    [CMD_IDENTIFY] = { .name = PROTO_VERB_IDENTIFY, .words = 1, .identify = ID_REFUSED, .has_body = 1,
                       .body_max = PROTO_MAX_IDENTIFY, .body_err = ERR_BAD_BODY,
                       .body_why = "IDENTIFY body over 4096 bytes", .run = run_identify },
    [CMD_SUB] = { .name = PROTO_VERB_SUB, .words = 2, .identify = ID_NEEDED, .field = { F_CHANNEL },
                  .run = run_sub },
    [CMD_UNSUB] = { .name = PROTO_VERB_UNSUB, .words = 2, .identify = ID_NEEDED, .field = { F_CHANNEL },
                    .run = run_unsub },
    [CMD_PUB] = { .name = PROTO_VERB_PUB, .words = 4, .identify = ID_NEEDED, .pipelined = 1,
                  .has_body = 1, .body_err = ERR_BAD_MESSAGE,
                  .body_why = "message body over max_msg_size",
                  .field = { F_ID_OR_ZERO, F_CHANNEL, F_ID }, .run = run_pub },
    [CMD_FIN] = { .name = PROTO_VERB_FIN, .words = 2, .identify = ID_NEEDED, .field = { F_ID },
                  .run = run_fin },
    [CMD_CLS] = { .name = PROTO_VERB_CLS, .words = 1, .run = run_cls },
};

/* Longer than every name: enough input to tell which command a line is. */
#define CMD_NAME_MAX 15

static const struct command *cmd_find(const char *name, size_t len)
{
    for (size_t i = 0; i < CMD_COUNT; i++)
        if (strlen(commands[i].name) == len && memcmp(commands[i].name, name, len) == 0)
            return &commands[i];
    return NULL;
}

/* Parses word i into c->args[i - 1]; on failure sends the field's error. */
static int cmd_field(struct session *c, enum field f, const char *w, size_t len, int64_t *out)
{
    switch (f) {
    case F_ID:
        if (parse_id(w, len, out) == 0)
            return 0;
        session_fail(c, ERR_INVALID, "id must be a positive int64");
        return -1;
    case F_ID_OR_ZERO:
        if (parse_id_or_zero(w, len, out) == 0)
            return 0;
        session_fail(c, ERR_INVALID, "client id must be 0 or a positive int64");
        return -1;
    case F_CHANNEL:
        if (parse_id(w, len, out) == 0)
            return 0;
        session_fail(c, ERR_BAD_CHANNEL, "channel id must be a positive int64");
        return -1;
    default:
        return 0;
    }
}

/* Checks a line in the SPEC's order; 0 if it may run. */
static int cmd_check(struct session *c, const struct command *cmd, const struct proto_words *w,
                     int split_ok)
{
    if (!split_ok || w->n != cmd->words) {
        session_fail(c, ERR_INVALID, "wrong number of words");
        return -1;
    }
    if (cmd->identify == ID_NEEDED && c->client_id == 0) {
        session_fail(c, ERR_INVALID_CLIENT, "IDENTIFY first");
        return -1;
    }
    if (cmd->identify == ID_REFUSED && c->client_id != 0) {
        session_fail(c, ERR_INVALID, "already identified");
        return -1;
    }
    for (int i = 1; i < cmd->words; i++)
        if (cmd_field(c, cmd->field[i - 1], w->w[i], w->len[i], &c->args[i - 1]) < 0)
            return -1;
    return 0;
}

void cmd_line(struct tcp_conn *t, char *line, size_t len)
{
    struct session *c = &t->s;
    struct proto_words w;
    int split_ok = proto_split(line, len, &w) == 0;
    const struct command *cmd = cmd_find(w.w[0], w.len[0]);
    if (!cmd) {
        session_fail(c, ERR_INVALID, "unknown command");
        return;
    }
    int ok = cmd_check(c, cmd, &w, split_ok) == 0;
    if (cmd->has_body) {
        /* The body follows whatever was wrong with the line. */
        t->body_cmd = (uint8_t)(cmd - commands);
        t->body_refused = !ok;
        t->input = TCP_BODY;
        return;
    }
    if (ok)
        cmd->run(c, NULL, 0);
}

int cmd_body_too_big(struct tcp_conn *t, uint32_t size)
{
    const struct command *cmd = &commands[t->body_cmd];
    uint64_t max = cmd->body_max ? cmd->body_max : t->s.b->conf.max_msg_size;
    if (size <= max)
        return 0;
    session_fail(&t->s, cmd->body_err, cmd->body_why);
    return 1;
}

void cmd_body(struct tcp_conn *t, const char *body, size_t len)
{
    if (!t->body_refused)
        commands[t->body_cmd].run(&t->s, body, len);
}

int cmd_may_pipeline(struct evbuffer *in)
{
    char head[CMD_NAME_MAX + 1];
    ev_ssize_t n = evbuffer_copyout(in, head, sizeof(head));
    const char *sp = n > 0 ? memchr(head, ' ', (size_t)n) : NULL;
    const struct command *cmd = sp ? cmd_find(head, (size_t)(sp - head)) : NULL;
    return cmd && cmd->pipelined;
}

/* The FIN lines that lie whole at the start of the input's first chunk,
 * finished straight from it with one drain for them all. A burst of
 * deliveries brings a burst of FINs back, and taking each through
 * proto_take_line and the command table was about 40% of brokerd's
 * instructions per delivery (callgrind, fanout). The first line that is not
 * a plain FIN of a pending message (a '\r', a bad id, an unknown id, another
 * command) is left to the general path, which answers it as before. */
void cmd_take_fins(struct session *c, struct evbuffer *in)
{
    const struct command *fin = &commands[CMD_FIN];
    size_t nl_max = strlen(fin->name) + 1;  /* the name and its space */
    struct evbuffer_iovec v;
    if (c->client_id == 0 || evbuffer_peek(in, -1, NULL, &v, 1) < 1)
        return;
    const char *start = v.iov_base, *p = start, *end = start + v.iov_len;
    int64_t mid;
    while ((size_t)(end - p) > nl_max + 1 && memcmp(p, fin->name, nl_max - 1) == 0 &&
           p[nl_max - 1] == ' ') {
        const char *id = p + nl_max;
        size_t room = (size_t)(end - id);
        const char *nl = memchr(id, '\n', room < 21 ? room : 21);
        if (!nl || parse_id(id, (size_t)(nl - id), &mid) < 0 || fin_message(c, mid) < 0)
            break;
        p = nl + 1;
    }
    if (p > start)
        evbuffer_drain(in, (size_t)(p - start));
}
