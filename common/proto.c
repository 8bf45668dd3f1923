/* The device protocol's text side (SPEC 2.1, 2.2). Every function looks at
 * a bounded prefix of the input buffer only, so a peer that streams bytes
 * without a newline costs at most PROTO_MAX_LINE + 2 bytes of scanning per
 * call and is refused as soon as the limit is passed. */
#include "proto.h"

#include <string.h>

#include <event2/buffer.h>

#include "be32.h"

enum proto_status proto_take_magic(struct evbuffer *in)
{
    unsigned char got[PROTO_MAGIC_LEN];
    size_t have = evbuffer_get_length(in);
    size_t n = have < PROTO_MAGIC_LEN ? have : PROTO_MAGIC_LEN;

    if (n == 0)
        return PROTO_NEED_MORE;
    if (evbuffer_copyout(in, got, n) != (ev_ssize_t)n)
        return PROTO_BAD;
    if (memcmp(got, PROTO_MAGIC, n) != 0)
        return PROTO_BAD;
    if (n < PROTO_MAGIC_LEN)
        return PROTO_NEED_MORE;
    evbuffer_drain(in, PROTO_MAGIC_LEN);
    return PROTO_OK;
}

/* A line may hold `limit` bytes, then an optional '\r', then '\n'; so the
 * '\n' is searched only in the first limit + 2 bytes. Without one:
 *  - fewer than limit + 1 bytes: wait;
 *  - exactly limit + 1 bytes ending in '\r': wait, the '\n' may follow
 *    (a full-length line sent as "...\r" then "\n" is legal);
 *  - otherwise the line is already too long.
 * Nothing is drained unless PROTO_OK is returned. */
enum proto_status proto_take_line(struct evbuffer *in, char *buf, size_t cap, size_t *len)
{
    size_t limit = PROTO_MAX_LINE;
    size_t have = evbuffer_get_length(in);
    struct evbuffer_ptr end, nl;

    if (cap == 0)
        return PROTO_TOO_LONG;
    if (cap - 1 < limit)
        limit = cap - 1;
    if (have == 0)
        return PROTO_NEED_MORE;

    size_t window = have < limit + 2 ? have : limit + 2;
    if (evbuffer_ptr_set(in, &end, window, EVBUFFER_PTR_SET) != 0)
        return PROTO_TOO_LONG;
    nl = evbuffer_search_range(in, "\n", 1, NULL, &end);

    if (nl.pos < 0) {
        if (have < limit + 1)
            return PROTO_NEED_MORE;
        if (have == limit + 1) {
            unsigned char last;
            struct evbuffer_ptr at;
            if (evbuffer_ptr_set(in, &at, limit, EVBUFFER_PTR_SET) == 0
                && evbuffer_copyout_from(in, &at, &last, 1) == 1 && last == '\r')
                return PROTO_NEED_MORE;
        }
        return PROTO_TOO_LONG;
    }

    /* nl.pos <= limit + 1 and cap >= limit + 1, so the raw line fits. */
    size_t raw = (size_t)nl.pos;
    if (raw > 0 && evbuffer_copyout(in, buf, raw) != (ev_ssize_t)raw)
        return PROTO_TOO_LONG;
    size_t n = raw;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > limit)
        return PROTO_TOO_LONG;
    evbuffer_drain(in, raw + 1);
    buf[n] = '\0';
    *len = n;
    return PROTO_OK;
}

/* On -1, out->n counts the words filled so far (at least 1 for a non-empty
 * line), so out->w[0] names the command. An empty line gives n = 0 and 0. */
int proto_split(const char *line, size_t len, struct proto_words *out)
{
    size_t start = 0;

    out->n = 0;
    if (len == 0)
        return 0;
    for (;;) {
        const char *sp = memchr(line + start, ' ', len - start);
        size_t end = sp != NULL ? (size_t)(sp - line) : len;

        if (out->n == PROTO_MAX_WORDS)
            return -1;  /* a ninth word */
        out->w[out->n] = line + start;
        out->len[out->n] = end - start;
        out->n++;
        if (end == start)
            return -1;  /* empty word: leading, double or trailing space */
        if (sp == NULL)
            return 0;
        start = end + 1;
        if (start == len)
            return -1;  /* trailing space */
    }
}

enum proto_status proto_peek_size(struct evbuffer *in, uint32_t *size)
{
    unsigned char b[4];

    if (evbuffer_get_length(in) < 4)
        return PROTO_NEED_MORE;
    if (evbuffer_copyout(in, b, 4) != 4)
        return PROTO_NEED_MORE;
    *size = get_be32(b);
    return PROTO_OK;
}
