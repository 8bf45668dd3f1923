/* The command table and its dispatch (SPEC 2.2). Arity, the identify check
 * and the order of checks live here, once; each verb's file only acts. */
#include <string.h>


#include "broker.h"
#include "numparse.h"
#include "proto.h"

enum field { F_NONE, F_ID, F_ID_OR_ZERO, F_CHANNEL };

struct command {
    const char *name;
    int words;                   /* including the name */
    int needs_identify;
    int has_body;
    enum field field[3];         /* how words 1..3 parse */
    void (*run)(struct conn *c); /* commands without a body */
};

static void run_h(struct conn *c)
{
    conn_response(c, "H");
}

static void run_cls(struct conn *c)
{
    conn_response(c, "CLOSE_WAIT");
    conn_finish(c);
}

static void run_sub(struct conn *c)
{
    cmd_sub(c, c->args[0]);
}

static void run_unsub(struct conn *c)
{
    cmd_unsub(c, c->args[0]);
}

static void run_fin(struct conn *c)
{
    cmd_fin(c, c->args[0]);
}

static const struct command commands[] = {
    { "H", 1, 0, 0, { F_NONE }, run_h },
    { "IDENTIFY", 1, 0, 1, { F_NONE }, NULL },
    { "SUB", 2, 1, 0, { F_CHANNEL }, run_sub },
    { "UNSUB", 2, 1, 0, { F_CHANNEL }, run_unsub },
    { "PUB", 4, 1, 1, { F_ID_OR_ZERO, F_CHANNEL, F_ID }, NULL },
    { "FIN", 2, 1, 0, { F_ID }, run_fin },
    { "CLS", 1, 0, 0, { F_NONE }, run_cls },
};

static const struct command *cmd_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strlen(commands[i].name) == len && memcmp(commands[i].name, name, len) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_is(const struct command *cmd, const char *name)
{
    return cmd && strcmp(cmd->name, name) == 0;
}

/* Parses word i into c->args[i - 1]; on failure sends the field's error. */
static int cmd_field(struct conn *c, enum field f, const char *w, size_t len, int64_t *out)
{
    switch (f) {
    case F_ID:
        if (parse_id(w, len, out) == 0)
            return 0;
        conn_fail(c, ERR_INVALID, "id must be a positive int64");
        return -1;
    case F_ID_OR_ZERO:
        if (parse_id_or_zero(w, len, out) == 0)
            return 0;
        conn_fail(c, ERR_INVALID, "client id must be 0 or a positive int64");
        return -1;
    case F_CHANNEL:
        if (parse_id(w, len, out) == 0)
            return 0;
        conn_fail(c, ERR_BAD_CHANNEL, "channel id must be a positive int64");
        return -1;
    default:
        return 0;
    }
}

/* Checks a line in the SPEC's order; 0 if it may run. */
static int cmd_check(struct conn *c, const struct command *cmd, const struct proto_words *w,
                     int split_ok)
{
    if (!split_ok || w->n != cmd->words) {
        conn_fail(c, ERR_INVALID, "wrong number of words");
        return -1;
    }
    if (cmd->needs_identify && c->client_id == 0) {
        conn_fail(c, ERR_INVALID_CLIENT, "IDENTIFY first");
        return -1;
    }
    if (cmd_is(cmd, "IDENTIFY") && c->client_id != 0) {
        conn_fail(c, ERR_INVALID, "already identified");
        return -1;
    }
    for (int i = 1; i < cmd->words; i++)
        if (cmd_field(c, cmd->field[i - 1], w->w[i], w->len[i], &c->args[i - 1]) < 0)
            return -1;
    return 0;
}

void cmd_line(struct conn *c, char *line, size_t len)
{
    struct proto_words w;
    int split_ok = proto_split(line, len, &w) == 0;
    const struct command *cmd = cmd_find(w.w[0], w.len[0]);
    if (!cmd) {
        conn_fail(c, ERR_INVALID, "unknown command");
        return;
    }
    int ok = cmd_check(c, cmd, &w, split_ok) == 0;
    if (cmd->has_body) {
        /* The body follows whatever was wrong with the line. */
        c->body_cmd = cmd;
        c->body_refused = !ok;
        c->state = CS_BODY;
        return;
    }
    if (ok)
        cmd->run(c);
}

int cmd_body_too_big(struct conn *c, uint32_t size)
{
    if (cmd_is(c->body_cmd, "IDENTIFY")) {
        if (size <= PROTO_MAX_IDENTIFY)
            return 0;
        conn_fail(c, ERR_BAD_BODY, "IDENTIFY body over 4096 bytes");
        return 1;
    }
    if (size <= c->b->conf.max_msg_size)
        return 0;
    conn_fail(c, ERR_BAD_MESSAGE, "message body over max_msg_size");
    return 1;
}

void cmd_body(struct conn *c, const char *body, size_t len)
{
    const struct command *cmd = c->body_cmd;
    c->body_cmd = NULL;
    if (c->body_refused)
        return;
    if (cmd_is(cmd, "IDENTIFY"))
        cmd_identify(c, body, len);
    else
        cmd_pub(c, c->args[0], c->args[1], c->args[2], body, len);
}
