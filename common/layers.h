/* The layers SPEC 2.8 stacks on a device's socket after IDENTIFY: TLS
 * over the socket's bufferevent, deflate over that (or over the socket
 * alone). Each layer is a bufferevent that owns the one below it, so
 * freeing the top frees them all; a connection that negotiated nothing
 * has none of this, and costs nothing more. brokerd stacks them as the
 * server, pushcat and pushbench as clients. */
#ifndef PG_LAYERS_H
#define PG_LAYERS_H
#include <stddef.h>

#include "tls.h"

struct bufferevent;

/* TLS (tls non-NULL: accepting when host is NULL, else connecting to
 * host) and then deflate at level (0: none) over sock. With read_max,
 * reading stops at read_max bytes in each layer's input, so the bytes a
 * peer sent cost at most read_max per layer, however well they inflate.
 * With hold, what is written to the top waits for layers_push (over TLS
 * alone the top is TLS, its writes disabled between pushes; with deflate,
 * the deflate layer), so that the frames of a loop pass make one TLS
 * record and one sync flush, not one each.
 * The top, or NULL on failure: then sock is freed too. */
struct bufferevent *layers_stack(struct bufferevent *sock, SSL_CTX *tls, const char *host,
                                 int level, size_t read_max, int hold);
/* What was written to a held top goes through the layers now. */
void layers_push(struct bufferevent *top);
/* The socket's bufferevent under the layers. */
struct bufferevent *layers_bottom(struct bufferevent *top);
/* Output bytes held in every layer, the socket's included. */
size_t layers_queued(struct bufferevent *top);
/* Frees what the inputs under the top keep reserved while empty (about
 * 4 KB each): for after a read, so that an idle connection keeps none. */
void layers_trim(struct bufferevent *top);
/* After the top's input was read: what waits in the layer below is read
 * in the next loop pass, where the top has room (one refill a pass, so an
 * input that inflates a thousandfold cannot hold the loop). */
void layers_refill(struct bufferevent *top);

#endif
