/* deflate_bev.h: a libevent filter bufferevent around two zlib streams. */
#include "deflate_bev.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <zlib.h>

#include "xmalloc.h"

/* Our compressor's window and hash: 2 KB and memLevel 4 cost about 22 KB
 * a connection where zlib's defaults (32 KB, 8) cost 268 KB; frames are
 * small, so the ratio hardly moves. The inflater takes whatever window
 * the peer chose (up to 32 KB, RFC 1951). */
#define DEFLATE_WBITS 11
#define DEFLATE_MEMLEVEL 4
#define INFLATE_WBITS 15
/* Output is made in pieces of this size. */
#define CHUNK 4096

struct deflate_ctx {
    z_stream in, out;
    struct bufferevent *bev;     /* the filter */
    int level;                   /* 0: bytes pass as they are */
    int hold;                    /* output waits for BEV_FLUSH */
    int ended;                   /* the peer's stream ended: nothing may follow */
    int failed;
};

/* libevent 2.1 drops a filter's BEV_ERROR on input: say it as an event. */
static enum bufferevent_filter_result deflate_fail(struct deflate_ctx *c)
{
    if (!c->failed)
        bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR | BEV_EVENT_READING,
                                  BEV_TRIG_DEFER_CALLBACKS);
    c->failed = 1;
    return BEV_ERROR;
}

/* Runs zlib over the first piece of src into dst, at most room bytes;
 * returns zlib's status, *used and *made what moved. */
static int zrun(z_stream *z, int inflating, struct evbuffer *src, struct evbuffer *dst,
                size_t room, int flush, size_t *used, size_t *made)
{
    struct evbuffer_iovec in = { NULL, 0 }, out;
    evbuffer_peek(src, -1, NULL, &in, 1);
    if (evbuffer_reserve_space(dst, (ev_ssize_t)(room < CHUNK ? room : CHUNK), &out, 1) < 1)
        return Z_MEM_ERROR;
    if (out.iov_len > room)
        out.iov_len = room;
    z->next_in = in.iov_base;
    z->avail_in = (uInt)in.iov_len;
    z->next_out = out.iov_base;
    z->avail_out = (uInt)out.iov_len;
    int r = inflating ? inflate(z, flush) : deflate(z, flush);
    *used = in.iov_len - z->avail_in;
    *made = out.iov_len - z->avail_out;
    out.iov_len = *made;
    evbuffer_commit_space(dst, &out, 1);
    evbuffer_drain(src, *used);
    return r;
}

static enum bufferevent_filter_result
deflate_bev_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
               enum bufferevent_flush_mode mode, void *arg)
{
    struct deflate_ctx *c = arg;
    size_t room = limit > 0 ? (size_t)limit : CHUNK, used, made, total = 0;
    (void)mode;
    if (c->failed)
        return BEV_ERROR;
    if (!c->level)
        return evbuffer_remove_buffer(src, dst, room) > 0 ? BEV_OK : BEV_NEED_MORE;
    while (room > 0 && evbuffer_get_length(src) > 0) {
        if (c->ended)
            return deflate_fail(c);
        int r = zrun(&c->in, 1, src, dst, room, Z_SYNC_FLUSH, &used, &made);
        if (r == Z_STREAM_END)
            c->ended = 1;
        else if (r != Z_OK && r != Z_BUF_ERROR)
            return deflate_fail(c);
        room -= made;
        total += made;
        if (used == 0 && made == 0)
            break;
    }
    return total ? BEV_OK : BEV_NEED_MORE;
}

/* Everything written is compressed, then sync flushed: the peer can read
 * each frame as soon as it arrives. */
static enum bufferevent_filter_result
deflate_bev_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                enum bufferevent_flush_mode mode, void *arg)
{
    struct deflate_ctx *c = arg;
    size_t used, made;
    (void)limit;
    if (evbuffer_get_length(src) == 0 || (c->hold && mode == BEV_NORMAL))
        return BEV_NEED_MORE;
    if (!c->level)
        return evbuffer_add_buffer(dst, src) == 0 ? BEV_OK : BEV_ERROR;
    do {
        int last = evbuffer_get_length(src) == evbuffer_get_contiguous_space(src);
        int r = zrun(&c->out, 0, src, dst, CHUNK, last ? Z_SYNC_FLUSH : Z_NO_FLUSH, &used, &made);
        if (r != Z_OK && r != Z_BUF_ERROR)
            return BEV_ERROR;
        /* Full output space: zlib has more of this piece or of its flush. */
        if (made == CHUNK || evbuffer_get_length(src) > 0)
            continue;
        break;
    } while (1);
    return BEV_OK;
}

static void deflate_ctx_free(void *arg)
{
    struct deflate_ctx *c = arg;
    if (c->level) {
        inflateEnd(&c->in);
        deflateEnd(&c->out);
    }
    free(c);
}

struct bufferevent *deflate_bev_new(struct bufferevent *under, int level, int hold)
{
    struct deflate_ctx *c = xcalloc(1, sizeof(*c));
    c->level = level;
    c->hold = hold;
    if (level && inflateInit2(&c->in, -INFLATE_WBITS) != Z_OK) {
        free(c);
        return NULL;
    }
    if (level && deflateInit2(&c->out, level, Z_DEFLATED, -DEFLATE_WBITS, DEFLATE_MEMLEVEL,
                              Z_DEFAULT_STRATEGY) != Z_OK) {
        inflateEnd(&c->in);
        free(c);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_filter_new(under, deflate_bev_in, deflate_bev_out,
                                                     BEV_OPT_CLOSE_ON_FREE, deflate_ctx_free, c);
    if (!bev)
        deflate_ctx_free(c);
    else
        c->bev = bev;
    return bev;
}
