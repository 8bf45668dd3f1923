/* Stream entry ids ("ms-seq") and the read positions kept per device. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "keys.h"
#include "xmalloc.h"

static int u64_parse(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int eid_parse(const char *s, size_t len, struct eid *out)
{
    const char *dash = memchr(s, '-', len);
    if (!dash)
        return -1;
    size_t ml = (size_t)(dash - s);
    if (u64_parse(s, ml, &out->ms) < 0 || u64_parse(dash + 1, len - ml - 1, &out->seq) < 0)
        return -1;
    return 0;
}

int eid_cmp(struct eid a, struct eid b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* An XRANGE start ("(ms-seq", "ms-seq" or "-") -> the last entry not to read. */
static int cursor_start(const char *s, size_t len, struct eid *read)
{
    read->ms = read->seq = 0;
    if (len == 1 && s[0] == '-')
        return 0;
    if (len > 0 && s[0] == '(')
        return eid_parse(s + 1, len - 1, read);
    /* Inclusive start: the entry just before it is the last not to read. */
    if (eid_parse(s, len, read) < 0)
        return -1;
    if (read->seq > 0) {
        read->seq--;
    } else if (read->ms > 0) {
        read->ms--;
        read->seq = UINT64_MAX;
    }
    return 0;
}

int cursor_parse(const char *s, size_t len, struct eid *read, struct eid *sent)
{
    const char *sp = memchr(s, ' ', len);
    size_t first = sp ? (size_t)(sp - s) : len;
    if (cursor_start(s, first, read) < 0)
        return -1;
    *sent = *read;
    if (sp && eid_parse(sp + 1, len - first - 1, sent) < 0)
        return -1;
    return 0;
}

/* The cursor of stream s of c whose oldest un-FINed record is p (or NULL). */
static void cursor_format(const struct session *c, const struct stream_state *s,
                          const struct pending *p, char *buf, size_t cap)
{
    struct eid sent = pending_fast_sent(c, s);
    if (p)
        snprintf(buf, cap, "%" PRIu64 "-%" PRIu64 " %" PRIu64 "-%" PRIu64, p->msg->eid.ms,
                 p->msg->eid.seq, sent.ms, sent.seq);
    else
        snprintf(buf, cap, "(%" PRIu64 "-%" PRIu64 " %" PRIu64 "-%" PRIu64, s->sent.ms,
                 s->sent.seq, sent.ms, sent.seq);
}

void cursor_of(struct session *c, const struct stream_state *s, char *buf, size_t cap)
{
    const struct pending **oldest = xcalloc(c->nstreams, sizeof(*oldest));
    pending_oldest_each(c, oldest);
    cursor_format(c, s, oldest[s - c->streams], buf, cap);
    free(oldest);
}

#define CURSOR_LEN 96

/* A FINed record written before Redis had it (pub_fast.c) that no F notice
 * covered before the connection ended: the gone script finds its entry by
 * its sender's dedup record (once its PUB ran, the entry id) and moves the
 * cursor past it, so that it is not sent again (docs/DESIGN.md, "Deliver
 * first"). */
struct fin_fast {
    char stream[KEY_MAX], dup[KEY_MAX], field[CHAN_FIELD_MAX], mid[ARG_INT_MAX];
};

static int fin_fast_of(const struct pending *p)
{
    return p->fast && p->finished && !p->msg->dead && !p->msg->chname &&
           p->msg->stream != MSG_STREAM_NONE;
}

/* c's FINed uncovered records (*n of them), or NULL. */
static struct fin_fast *fin_fast_list(struct broker *b, struct session *c, size_t *n)
{
    const struct pending *p;
    size_t k = 0;
    *n = 0;
    TAILQ_FOREACH(p, &c->pend, link)
        k += (size_t)fin_fast_of(p);
    if (k == 0)
        return NULL;
    struct fin_fast *out = xcalloc(k, sizeof(*out));
    TAILQ_FOREACH(p, &c->pend, link) {
        if (!fin_fast_of(p))
            continue;
        struct fin_fast *f = &out[*n];
        int64_t ch = p->msg->stream;
        if (ch == 0)
            strcpy(f->field, "in");
        else if (!channel_field(b, ch, f->field))
            continue;
        key_stream(f->stream, c->client_id, ch);
        key_dupw(f->dup, p->msg->meta.from_client_id);
        arg_int(f->mid, p->msg->meta.message_id);
        (*n)++;
    }
    return out;
}

void cursor_write(struct broker *b, struct session *c, int gone)
{
    char devkey[KEY_MAX], curkey[KEY_MAX], token[SESSION_TOKEN_MAX], did[ARG_INT_MAX];
    char inkey[KEY_MAX], freedkey[KEY_MAX], subskey[KEY_MAX], ttl[ARG_INT_MAX];
    uint32_t n = c->nstreams;
    size_t nfin = 0;
    struct fin_fast *fin = gone ? fin_fast_list(b, c, &nfin) : NULL;
    /* GONE's keys and arguments | HSET curkey, then field/value pairs */
    size_t argc = 0, max = 12 + 2 * (size_t)n + 4 * nfin;
    const char **argv = xcalloc(max, sizeof(*argv));
    char (*fields)[CHAN_FIELD_MAX] = xcalloc(n ? n : 1, sizeof(*fields));
    char (*values)[CURSOR_LEN] = xcalloc(n ? n : 1, sizeof(*values));
    const struct pending **oldest = xcalloc(n ? n : 1, sizeof(*oldest));
    pending_oldest_each(c, oldest);
    key_dev(devkey, c->client_id);
    key_dev_cur(curkey, c->client_id);
    session_token(c, token);
    if (gone) {
        argv[argc++] = devkey;
        argv[argc++] = curkey;
        argv[argc++] = KEY_KEPT;
        argv[argc++] = key_dev_in(inkey, c->client_id);
        argv[argc++] = key_dev_freed(freedkey, c->client_id);
        argv[argc++] = KEY_STATS;
        argv[argc++] = key_dev_subs(subskey, c->client_id);
        argv[argc++] = KEY_ONLINE;
        for (size_t i = 0; i < nfin; i++) {
            argv[argc++] = fin[i].stream;
            argv[argc++] = fin[i].dup;
        }
        argv[argc++] = token;
        argv[argc++] = arg_int(did, c->client_id);
        argv[argc++] = arg_int(ttl, (int64_t)b->conf.offline_ttl * 1000);
    } else {
        argv[argc++] = "HSET";
        argv[argc++] = curkey;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct stream_state *s = &c->streams[i];
        const char *field = s->channel ? channel_field(b, s->channel, fields[i]) : "in";
        if (!field)
            continue;  /* a name left here (the session is closing) */
        cursor_format(c, s, oldest[i], values[i], sizeof(values[i]));
        argv[argc++] = field;
        argv[argc++] = values[i];
    }
    for (size_t i = 0; i < nfin; i++) {
        argv[argc++] = fin[i].field;
        argv[argc++] = fin[i].mid;
    }
    if (gone)
        rconn_script(&b->store.cmd, SCRIPT_GONE, NULL, NULL, 8 + 2 * (int)nfin, (int)argc, argv,
                     NULL);
    else if (argc > 2)
        rconn_cmd(&b->store.cmd, NULL, NULL, (int)argc, argv, NULL);
    free(fin);
    free(oldest);
    free(values);
    free(fields);
    free(argv);
}
