/* Messages, shared by every session they are written to. A message is
 * kept in the TCP transport's encoding of its first attempt (header, line,
 * body in one block), so that the TCP fast path writes or references that
 * block as it is; any transport finds the meta in m->meta and the body at
 * m->frame1 + m->body_off. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "xmalloc.h"

struct msg *msg_new(const struct frame_msg_meta *meta, struct eid eid, int64_t expire_ms,
                    int64_t stream, int type_filter, const char *chname, const char *body,
                    size_t len)
{
    char line[FRAME_MSG_LINE_MAX];
    size_t ll = frame_msg_line(line, meta);
    size_t flen = FRAME_HEADER_LEN + ll + len;
    size_t nl = chname ? strlen(chname) + 1 : 0;
    struct msg *m = xmalloc(sizeof(*m) + flen + nl);
    m->chname = chname ? memcpy(m->frame1 + flen, chname, nl) : NULL;
    m->refs = 1;
    m->unconfirmed = m->dead = 0;
    m->ws1 = NULL;
    m->ws1_len = 0;
    m->meta = *meta;
    m->meta.attempt = 1;
    m->eid = eid;
    m->expire_ms = expire_ms;
    m->stream = stream;
    m->type_filter = type_filter;
    m->frame1_len = flen;
    m->body_off = FRAME_HEADER_LEN + ll;
    frame_header((unsigned char *)m->frame1, FRAME_MESSAGE, ll + len);
    memcpy(m->frame1 + FRAME_HEADER_LEN, line, ll);
    if (len)
        memcpy(m->frame1 + m->body_off, body, len);
    return m;
}

const char *msg_channel(const struct msg *m, char buf[ARG_INT_MAX])
{
    if (m->chname)
        return m->chname;
    return m->meta.channel_id ? arg_int(buf, m->meta.channel_id) : "";
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0) {
        free(m->ws1);
        free(m);
    }
}
