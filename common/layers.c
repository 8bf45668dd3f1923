/* layers.h: TLS and deflate stacked over a socket's bufferevent. */
#include "layers.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "deflate_bev.h"

/* The largest TLS record's plaintext (RFC 8446 5.1). */
#define TLS_RECORD_MAX 16384

/* The TLS layer's input is bounded by the socket's read watermark, but not
 * with a watermark of its own: libevent's watermark callback enables
 * reading again at every record added, and enabling a TLS filter reads at
 * once, so each record cost a nested SSL_read, most of them failing with
 * nothing to read (docs/PERFORMANCE.md, 23b). This stops reading once the
 * bound is reached, and starts again once the reader above took some. */
static void tls_input_bound(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *tls = arg;
    size_t high = 0, len = evbuffer_get_length(in);
    int reading = bufferevent_get_enabled(tls) & EV_READ;
    bufferevent_getwatermark(bufferevent_get_underlying(tls), EV_READ, NULL, &high);
    if (reading && info->n_added && len >= high)
        bufferevent_disable(tls, EV_READ);
    else if (!reading && info->n_deleted && len < high)
        bufferevent_enable(tls, EV_READ);
}

struct bufferevent *layers_stack(struct bufferevent *sock, SSL_CTX *tls, const char *host,
                                 int level, size_t read_max, int hold)
{
    struct bufferevent *top = sock, *layer = NULL;
    if (tls && !(layer = tls_filter_new(top, tls, host == NULL, host)))
        goto fail;
    if (layer) {
        if (read_max)
            evbuffer_add_cb(bufferevent_get_input(layer), tls_input_bound, layer);
        top = layer;
    }
    /* TLS alone is held by its own writes (layers_push): no layer for it. */
    int held = level || (hold && !tls);
    if (held && !(layer = deflate_bev_new(top, level, hold)))
        goto fail;
    if (held) {
        if (read_max)
            bufferevent_setwatermark(layer, EV_READ, 0, read_max);
        top = layer;
    }
    /* libevent's TLS filter clears its socket's read watermark: set again. */
    if (read_max)
        bufferevent_setwatermark(sock, EV_READ, 0, read_max);
    return top;
fail:
    bufferevent_free(top);  /* and the socket under it */
    return NULL;
}

void layers_push(struct bufferevent *top)
{
    SSL *ssl = bufferevent_openssl_get_ssl(top);
    if (!ssl) {
        bufferevent_flush(top, EV_WRITE, BEV_FLUSH);  /* the deflate layer holds */
        return;
    }
    /* TLS at the top holds what is written while its writes are disabled,
     * between two pushes. The pass's frames go as one piece, one record:
     * libevent's filter makes a record of each piece (a frame shared by
     * reference, each 4 KB chain). During the handshake they wait, writes
     * enabled, and go once it is done. */
    struct evbuffer *out = bufferevent_get_output(top);
    size_t n = evbuffer_get_length(out);
    if (n > 0)
        evbuffer_pullup(out, (ev_ssize_t)(n < TLS_RECORD_MAX ? n : TLS_RECORD_MAX));
    bufferevent_enable(top, EV_WRITE);
    if (SSL_is_init_finished(ssl))
        bufferevent_disable(top, EV_WRITE);
}

struct bufferevent *layers_bottom(struct bufferevent *top)
{
    struct bufferevent *under;
    while ((under = bufferevent_get_underlying(top)) != NULL)
        top = under;
    return top;
}

size_t layers_queued(struct bufferevent *top)
{
    size_t n = 0;
    for (; top; top = bufferevent_get_underlying(top))
        n += evbuffer_get_length(bufferevent_get_output(top));
    return n;
}

/* libevent frees the chunks of a buffer only when a drain empties it: an
 * empty input keeps the chunk its last read reserved (4 KB under TLS, up
 * to 4 KB in the socket's, where a read found nothing). A byte added and
 * drained frees it. The socket's bufferevent keeps its input's end frozen
 * (only it reads into it): thawed for the byte. */
static void input_trim(struct evbuffer *in, int frozen_end)
{
    static const char byte;
    if (evbuffer_get_length(in) > 0)
        return;
    if (frozen_end)
        evbuffer_unfreeze(in, 0);
    if (evbuffer_add(in, &byte, 1) == 0)
        evbuffer_drain(in, 1);
    if (frozen_end)
        evbuffer_freeze(in, 0);
}

void layers_trim(struct bufferevent *top)
{
    struct bufferevent *b = bufferevent_get_underlying(top), *under;
    for (; b; b = under) {
        under = bufferevent_get_underlying(b);
        input_trim(bufferevent_get_input(b), under == NULL);
    }
}

/* libevent 2.1's filter stops reading when its reader's input is full and
 * starts again only when more bytes arrive below: what already arrived
 * would wait. */
void layers_refill(struct bufferevent *top)
{
    struct bufferevent *under = bufferevent_get_underlying(top);
    size_t high;
    bufferevent_getwatermark(top, EV_READ, NULL, &high);
    if (under && evbuffer_get_length(bufferevent_get_input(under)) > 0 &&
        evbuffer_get_length(bufferevent_get_input(top)) < high)
        bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}
