/* Redis pub/sub in RESP2: SUBSCRIBE and PUBLISH, the bound with no
 * delivery guarantee at all. Channel c is "pb:c". A PUBLISH is answered
 * with the number of subscribers reached; 0 counts as refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushbench.h"

#define RESP_MAX_BULK (16 << 20)

static size_t chan_of(char *buf, size_t cap, int64_t channel)
{
    return (size_t)snprintf(buf, cap, "pb:%lld", (long long)channel);
}

static void redis_open(struct pb_conn *c)
{
    char cmd[96], ch[32];
    size_t cl;
    int n;

    if (c->channel == 0) {
        pb_conn_ready(c);   /* a publisher needs no handshake */
        return;
    }
    cl = chan_of(ch, sizeof(ch), c->channel);
    n = snprintf(cmd, sizeof(cmd), "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n", cl, ch);
    c->awaiting = 1;
    pb_conn_write(c, cmd, (size_t)n);
}

static void redis_publish(struct pb_conn *c, int64_t channel, uint64_t seq, const char *body,
                          size_t len)
{
    char cmd[128], ch[32];
    size_t cl = chan_of(ch, sizeof(ch), channel);
    int n = snprintf(cmd, sizeof(cmd), "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n", cl, ch,
                     len);

    (void)seq;
    pb_conn_write(c, cmd, (size_t)n);
    pb_conn_write(c, body, len);
    pb_conn_write(c, "\r\n", 2);
}

/* One "<prefix><number>\r\n" line at *pos. 1 done, 0 need more, -1 bad. */
static int resp_number(const char *data, size_t len, size_t *pos, char prefix, long long *out)
{
    const char *p = data + *pos, *cr;
    char *end;

    if (*pos >= len)
        return 0;
    if (*p != prefix)
        return -1;
    if ((cr = memchr(p, '\r', len - *pos)) == NULL)
        return len - *pos > 32 ? -1 : 0;
    if ((size_t)(cr - data) + 1 >= len)
        return 0;
    *out = strtoll(p + 1, &end, 10);
    if (end != cr || cr[1] != '\n')
        return -1;
    *pos = (size_t)(cr - data) + 2;
    return 1;
}

/* A bulk string "$n\r\n<n bytes>\r\n" at *pos. */
static int resp_bulk(const char *data, size_t len, size_t *pos, const char **s, size_t *sl)
{
    size_t p = *pos;
    long long n;
    int rc = resp_number(data, len, &p, '$', &n);

    if (rc <= 0)
        return rc;
    if (n < 0 || n > RESP_MAX_BULK)
        return -1;
    if (len - p < (size_t)n + 2)
        return 0;
    *s = data + p;
    *sl = (size_t)n;
    *pos = p + (size_t)n + 2;
    return 1;
}

/* An array of three: "message" chan payload, or "subscribe" chan count. */
static int resp_push(struct pb_conn *c, const char *data, size_t len, size_t *pos)
{
    size_t p = *pos, kl, cl, pl;
    const char *kind, *chan, *payload;
    long long n;
    int rc;

    if ((rc = resp_number(data, len, &p, '*', &n)) <= 0)
        return rc;
    if (n != 3 || (rc = resp_bulk(data, len, &p, &kind, &kl)) <= 0 ||
        (rc = resp_bulk(data, len, &p, &chan, &cl)) <= 0)
        return n != 3 ? -1 : rc;
    (void)chan;
    if (kl == 7 && memcmp(kind, "message", 7) == 0) {
        if ((rc = resp_bulk(data, len, &p, &payload, &pl)) <= 0)
            return rc;
        pb_conn_message(c, payload, pl);
    } else if (kl == 9 && memcmp(kind, "subscribe", 9) == 0) {
        if ((rc = resp_number(data, len, &p, ':', &n)) <= 0)
            return rc;
        if (c->awaiting > 0 && --c->awaiting == 0)
            pb_conn_ready(c);
    } else {
        return -1;
    }
    *pos = p;
    return 1;
}

static ssize_t redis_input(struct pb_conn *c, const char *data, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        size_t p = pos;
        long long n;
        const char *cr;
        int rc;

        switch (data[pos]) {
        case ':':
            if ((rc = resp_number(data, len, &p, ':', &n)) > 0)
                pb_conn_acked(c, n > 0);
            break;
        case '-':
        case '+':
            if ((cr = memchr(data + pos, '\r', len - pos)) == NULL ||
                (size_t)(cr - data) + 1 >= len) {
                rc = 0;
                break;
            }
            p = (size_t)(cr - data) + 2;
            rc = 1;
            if (data[pos] == '-') {
                pb_conn_error(c, data + pos, (size_t)(cr - data) - pos);
                if (c->state == PC_OPENING)
                    return -1;   /* e.g. "max number of clients reached" */
                if (c->channel == 0)
                    pb_conn_acked(c, 0);
            }
            break;
        case '*':
            rc = resp_push(c, data, len, &p);
            break;
        default:
            rc = -1;
            break;
        }
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        pos = p;
    }
    return (ssize_t)pos;
}

const struct pb_proto pb_proto_redis = {
    "redis", 1, redis_open, redis_publish, redis_input, NULL,
};
