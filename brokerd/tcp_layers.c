/* The layers SPEC 2.8 stacks on a device's socket after IDENTIFY: TLS
 * over the socket's bufferevent, deflate over that (or over the socket
 * alone). Each layer is a bufferevent that owns the one below it, so
 * freeing the top frees them all; a connection that negotiated nothing
 * has none of this, and costs nothing more. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "broker.h"
#include "deflate_bev.h"
#include "tls.h"

/* Reading stops at read_max bytes in each layer's input, so the bytes a
 * client sent cost at most read_max per layer, however well they inflate.
 * NULL on failure: then sock is freed too. */
struct bufferevent *tcp_layers_stack(struct bufferevent *sock, SSL_CTX *tls, int level,
                                     size_t read_max)
{
    struct bufferevent *top = sock, *layer = NULL;
    if (tls && !(layer = tls_filter_new(top, tls, 1, NULL)))
        goto fail;
    if (layer) {
        bufferevent_setwatermark(layer, EV_READ, 0, read_max);
        top = layer;
    }
    if (level && !(layer = deflate_bev_new(top, level)))
        goto fail;
    if (level) {
        bufferevent_setwatermark(layer, EV_READ, 0, read_max);
        top = layer;
    }
    return top;
fail:
    bufferevent_free(top);  /* and the socket under it */
    return NULL;
}

struct bufferevent *tcp_layers_bottom(struct bufferevent *top)
{
    struct bufferevent *under;
    while ((under = bufferevent_get_underlying(top)) != NULL)
        top = under;
    return top;
}

size_t tcp_layers_queued(struct bufferevent *top)
{
    size_t n = 0;
    for (; top; top = bufferevent_get_underlying(top))
        n += evbuffer_get_length(bufferevent_get_output(top));
    return n;
}

/* libevent 2.1's filter stops reading when its reader's input is full and
 * starts again only when more bytes arrive below: what already arrived
 * would wait. Read again in the next loop pass, where the reader has
 * room (one refill a pass: input that inflates a thousandfold cannot
 * hold the loop). */
void tcp_layers_refill(struct bufferevent *top)
{
    struct bufferevent *under = bufferevent_get_underlying(top);
    size_t high;
    bufferevent_getwatermark(top, EV_READ, NULL, &high);
    if (under && evbuffer_get_length(bufferevent_get_input(under)) > 0 &&
        evbuffer_get_length(bufferevent_get_input(top)) < high)
        bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}
