/* Listening sockets from a configured host:port, for every daemon. */
#ifndef PG_NET_H
#define PG_NET_H
#include <stddef.h>

#include <event2/util.h>

#include "cfg.h"

/* Resolves addr, binds, listens (non-blocking, SO_REUSEADDR, close-on-exec;
 * SO_REUSEPORT too when reuseport is set, so that several loops share the
 * port) and writes the bound "host:port" (the real port when 0 was asked)
 * into bound. Returns the socket, or -1 after logging why. */
evutil_socket_t net_listen(const struct cfg_addr *addr, int reuseport, char *bound, size_t cap);

/* Turns Nagle's algorithm off on a connected socket: a push gateway's
 * frames are small and must leave at once, not wait for the peer's
 * (possibly delayed) ACK of the previous one. */
void net_nodelay(evutil_socket_t fd);

#endif
