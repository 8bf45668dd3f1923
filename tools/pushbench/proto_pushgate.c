/* pushgate's device protocol (SPEC section 2): the magic, IDENTIFY, SUB,
 * PUB to a channel (client_id 0), and a FIN for every Message frame, as a
 * real device must. */
#include <stdio.h>
#include <string.h>

#include "be32.h"
#include "frame.h"
#include "proto.h"
#include "pushbench.h"
#include "pushcat_layers.h"

#define PG_FRAME_MAX (16u << 20)

static int pg_layered(const struct pb_conn *c)
{
    return c->w->cfg->o.tls || c->w->cfg->o.deflate;
}

static int pg_sub(struct pb_conn *c, char *buf, size_t cap)
{
    return snprintf(buf, cap, PROTO_VERB_SUB " %lld\n", (long long)c->channel);
}

/* The magic, IDENTIFY and, for a receiver, SUB: sent together, the broker
 * answers OK to each in order. With TLS or deflate asked for, SUB waits
 * for the OK that comes through them. */
static void pg_open(struct pb_conn *c)
{
    const struct pb_opts *o = &c->w->cfg->o;
    char buf[320];
    int jl, n;

    static const char head[] = PROTO_MAGIC PROTO_VERB_IDENTIFY "\n";
    memcpy(buf, head, sizeof(head) - 1);
    n = (int)sizeof(head) - 1 + 4;
    jl = snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "{\"client_id\":%lld,\"heartbeat_interval\":%llu",
                  (long long)c->client_id, (unsigned long long)o->heartbeat);
    jl = pushcat_ask_layers(buf + n, jl, sizeof(buf) - (size_t)n - 1, o->tls, (int)o->deflate);
    buf[n + jl++] = '}';
    put_be32(buf + n - 4, (uint32_t)jl);
    n += jl;
    c->sub_later = c->channel != 0 && pg_layered(c);
    if (c->channel != 0 && !c->sub_later)
        n += pg_sub(c, buf + n, sizeof(buf) - (size_t)n);
    c->awaiting = c->channel != 0 ? 2 : 1;
    pb_conn_write(c, buf, (size_t)n);
}

/* IDENTIFY's JSON reply: the layers granted go on the socket; the bytes
 * after this frame are theirs. 0, or -1. */
static int pg_granted(struct pb_conn *c, const char *d, size_t dl)
{
    char json[512];
    int tls, level;

    if (dl >= sizeof(json))
        return -1;
    memcpy(json, d, dl);
    json[dl] = '\0';
    if (pushcat_granted(json, &tls, &level) != 0 || (!tls && !level))
        return -1;   /* a benchmark of layers without them would mislead */
    return pb_conn_layers(c, tls, level);
}

static void pg_publish(struct pb_conn *c, int64_t channel, uint64_t seq, const char *body,
                       size_t len)
{
    char line[96];
    int n = snprintf(line, sizeof(line), PROTO_VERB_PUB " 0 %lld %llu\n", (long long)channel,
                     (unsigned long long)(c->w->cfg->mid_base + seq));

    put_be32(line + n, (uint32_t)len);
    pb_conn_write(c, line, (size_t)n + 4);
    pb_conn_write(c, body, len);
}

/* FINs the message with the id as the broker wrote it (the line's first
 * word): no parsing and formatting of numbers per delivery. */
static void pg_message(struct pb_conn *c, const char *d, size_t dl)
{
    size_t scan = dl < FRAME_MSG_LINE_MAX ? dl : FRAME_MSG_LINE_MAX;
    const char *nl = memchr(d, '\n', scan);
    const char *sp = nl ? memchr(d, ' ', (size_t)(nl - d)) : NULL;
    size_t idl = sp ? (size_t)(sp - d) : 0;
    static const char verb[] = PROTO_VERB_FIN " ";
    const size_t vl = sizeof(verb) - 1;
    char fin[32];

    if (idl == 0 || idl > 20 || d[0] < '0' || d[0] > '9') {
        pb_conn_error(c, "malformed Message frame", 23);
        return;
    }
    memcpy(fin, verb, vl);
    memcpy(fin + vl, d, idl);
    fin[vl + idl] = '\n';
    pb_conn_write(c, fin, vl + idl + 1);
    pb_conn_message(c, nl + 1, dl - (size_t)(nl + 1 - d));
}

static ssize_t pg_input(struct pb_conn *c, const char *data, size_t len)
{
    size_t off = 0;

    while (len - off >= FRAME_HEADER_LEN) {
        uint32_t size = get_be32(data + off), type = get_be32(data + off + 4);
        const char *d = data + off + FRAME_HEADER_LEN;
        size_t dl;

        if (size < 4 || size > PG_FRAME_MAX)
            return -1;
        if (len - off - 4 < size)
            break;
        dl = size - 4;
        switch (type) {
        case FRAME_RESPONSE:
            if (dl > 0 && d[0] == '{' && c->top == NULL && pg_layered(c))
                return pg_granted(c, d, dl) < 0 ? -1 : (ssize_t)(off + 4 + size);
            if (dl == 2 && memcmp(d, "OK", 2) == 0 && c->awaiting > 0 && --c->awaiting == 0)
                pb_conn_ready(c);
            else if (dl == 2 && memcmp(d, "OK", 2) == 0 && c->sub_later) {
                char sub[64];
                c->sub_later = 0;
                pb_conn_write(c, sub, (size_t)pg_sub(c, sub, sizeof(sub)));
            }
            break;
        case FRAME_ERROR:
            pb_conn_error(c, d, dl);
            /* A refused IDENTIFY or SUB: this connection cannot take part. */
            if (c->state == PC_OPENING)
                return -1;
            break;
        case FRAME_MESSAGE:
            pg_message(c, d, dl);
            break;
        case FRAME_ACK:
            pb_conn_acked(c, dl > 6 && memcmp(d, "ACK 1 ", 6) == 0);
            break;
        default:
            return -1;
        }
        off += 4 + size;
    }
    return (ssize_t)off;
}

static void pg_ping(struct pb_conn *c)
{
    pb_conn_write(c, PROTO_VERB_H "\n", strlen(PROTO_VERB_H) + 1);
}

const struct pb_proto pb_proto_pushgate = {
    "pushgate", 1, pg_open, pg_publish, pg_input, pg_ping,
};
