/* Frames from broker to client (SPEC 2.3):
 * [4-byte BE size][4-byte BE type][data], size = 4 + len(data).
 *
 * Writers reserve room for the whole frame before appending, so a frame is
 * either added whole or (on allocation failure) not at all and the stream
 * never goes out of step. */
#include "frame.h"
#include "be32.h"
#include "numparse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

/* Largest data length whose size field (4 + len) fits in 32 bits. */
#define FRAME_DATA_MAX ((size_t)UINT32_MAX - 4)

/* data_len must be at most FRAME_DATA_MAX; the frame_add* functions check. */
void frame_header(unsigned char out[FRAME_HEADER_LEN], enum frame_type type, size_t data_len)
{
    put_be32(out, (uint32_t)(4 + data_len));
    put_be32(out + 4, (uint32_t)type);
}

/* Appends a frame whose data is the concatenation of up to three parts
 * (NULL parts with length 0 are skipped). */
static int frame_add_parts(struct evbuffer *out, enum frame_type type,
                           const void *a, size_t alen, const void *b, size_t blen,
                           const void *c, size_t clen)
{
    unsigned char hdr[FRAME_HEADER_LEN];

    if (alen > FRAME_DATA_MAX || blen > FRAME_DATA_MAX - alen
        || clen > FRAME_DATA_MAX - alen - blen)
        return -1;
    size_t len = alen + blen + clen;
    if (evbuffer_expand(out, FRAME_HEADER_LEN + len) != 0)
        return -1;
    frame_header(hdr, type, len);
    if (evbuffer_add(out, hdr, sizeof(hdr)) != 0)
        return -1;
    if (alen > 0 && evbuffer_add(out, a, alen) != 0)
        return -1;
    if (blen > 0 && evbuffer_add(out, b, blen) != 0)
        return -1;
    if (clen > 0 && evbuffer_add(out, c, clen) != 0)
        return -1;
    return 0;
}

int frame_add(struct evbuffer *out, enum frame_type type, const void *data, size_t len)
{
    return frame_add_parts(out, type, data, len, NULL, 0, NULL, 0);
}

int frame_add_str(struct evbuffer *out, enum frame_type type, const char *s)
{
    return frame_add(out, type, s, s != NULL ? strlen(s) : 0);
}

int frame_add_error(struct evbuffer *out, const char *name, const char *reason)
{
    size_t nlen = strlen(name);

    if (reason == NULL || *reason == '\0')
        return frame_add_parts(out, FRAME_ERROR, name, nlen, NULL, 0, NULL, 0);
    return frame_add_parts(out, FRAME_ERROR, name, nlen, " ", 1, reason, strlen(reason));
}

int frame_add_ack(struct evbuffer *out, int ok, int64_t message_id, int64_t client_id)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "ACK %d %" PRId64 " %" PRId64,
                     ok ? 1 : 0, message_id, client_id);

    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return frame_add(out, FRAME_ACK, buf, (size_t)n);
}

/* The line is NUL-terminated whenever it is shorter than FRAME_MSG_LINE_MAX,
 * which holds for every non-negative meta (at most 100 bytes); only five
 * negative 20-character values would fill the buffer exactly. */
size_t frame_msg_line(char *buf, const struct frame_msg_meta *m)
{
    char tmp[FRAME_MSG_LINE_MAX + 1];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                     m->message_id, m->channel_id, m->from_client_id,
                     m->timestamp_ms, m->attempt);
    size_t len = n > 0 ? (size_t)n : 0;

    if (len > FRAME_MSG_LINE_MAX)
        len = FRAME_MSG_LINE_MAX;  /* cannot happen: 5 * 20 + 5 is the maximum */
    memcpy(buf, tmp, len);
    if (len < FRAME_MSG_LINE_MAX)
        buf[len] = '\0';
    return len;
}

int frame_add_message(struct evbuffer *out, const struct frame_msg_meta *m,
                      const void *body, size_t body_len)
{
    char line[FRAME_MSG_LINE_MAX];
    size_t llen = frame_msg_line(line, m);

    return frame_add_parts(out, FRAME_MESSAGE, line, llen, body, body_len, NULL, 0);
}

/* A type outside enum frame_type is FRAME_BAD too: the client cannot know
 * how to read it. Nothing is drained unless FRAME_OK is returned. */
enum frame_status frame_take(struct evbuffer *in, size_t max_len,
                             enum frame_type *type, char **data, size_t *len)
{
    unsigned char hdr[FRAME_HEADER_LEN];
    size_t have = evbuffer_get_length(in);

    if (have < 4)
        return FRAME_NEED_MORE;
    if (evbuffer_copyout(in, hdr, have < FRAME_HEADER_LEN ? 4 : FRAME_HEADER_LEN) < 0)
        return FRAME_BAD;
    uint32_t size = get_be32(hdr);
    if (size < 4 || size - 4 > max_len)
        return FRAME_BAD;
    if (have < FRAME_HEADER_LEN)
        return FRAME_NEED_MORE;
    uint32_t t = get_be32(hdr + 4);
    if (t > FRAME_ACK)
        return FRAME_BAD;
    size_t dlen = (size_t)size - 4;
    if (have - FRAME_HEADER_LEN < dlen)
        return FRAME_NEED_MORE;

    char *p = malloc(dlen + 1);
    if (p == NULL)
        return FRAME_BAD;
    if (dlen > 0) {
        struct evbuffer_ptr pos;
        if (evbuffer_ptr_set(in, &pos, FRAME_HEADER_LEN, EVBUFFER_PTR_SET) != 0
            || evbuffer_copyout_from(in, &pos, p, dlen) != (ev_ssize_t)dlen) {
            free(p);
            return FRAME_BAD;
        }
    }
    if (evbuffer_drain(in, FRAME_HEADER_LEN + dlen) != 0) {
        free(p);
        return FRAME_BAD;
    }
    p[dlen] = '\0';
    *type = (enum frame_type)t;
    *data = p;
    *len = dlen;
    return FRAME_OK;
}

/* Splits data at the first '\n' (which must come within FRAME_MSG_LINE_MAX
 * bytes) into five single-space separated numbers: message_id and attempt
 * are ids (> 0), channel_id and from_client_id may be 0, timestamp_ms is a
 * plain number <= INT64_MAX. */
int frame_msg_parse(const char *data, size_t len, struct frame_msg_meta *m,
                    const char **body, size_t *body_len)
{
    size_t scan = len < FRAME_MSG_LINE_MAX ? len : FRAME_MSG_LINE_MAX;
    const char *nl = data != NULL ? memchr(data, '\n', scan) : NULL;
    int64_t v[5];
    uint64_t ts;
    const char *p;

    if (nl == NULL)
        return -1;
    p = data;
    for (int i = 0; i < 5; i++) {
        const char *end = memchr(p, i < 4 ? ' ' : '\n', (size_t)(nl - p) + 1);
        if (end == NULL || (i < 4 && end > nl) || (i == 4 && end != nl))
            return -1;
        size_t wlen = (size_t)(end - p);
        int rc;
        switch (i) {
        case 0:
        case 4:
            rc = parse_id(p, wlen, &v[i]);
            break;
        case 3:
            rc = parse_uint_range(p, wlen, 0, INT64_MAX, &ts);
            if (rc == 0)
                v[i] = (int64_t)ts;
            break;
        default:
            rc = parse_id_or_zero(p, wlen, &v[i]);
            break;
        }
        if (rc != 0)
            return -1;
        p = end + 1;
    }
    m->message_id = v[0];
    m->channel_id = v[1];
    m->from_client_id = v[2];
    m->timestamp_ms = v[3];
    m->attempt = v[4];
    *body = nl + 1;
    *body_len = len - (size_t)(nl + 1 - data);
    return 0;
}
