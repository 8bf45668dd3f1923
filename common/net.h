/* Listening sockets from a configured host:port, for every daemon. */
#ifndef PG_NET_H
#define PG_NET_H
#include <stddef.h>

#include <event2/util.h>

#include "cfg.h"

/* How a listening socket shares its port with the other event loops of
 * this process (SO_REUSEPORT). */
enum net_share {
    NET_ALONE,        /* one loop: the port is this socket's alone */
    NET_SHARE_FIRST,  /* the first of several loops: fails, as NET_ALONE would,
                         if anything already listens on the port */
    NET_SHARE_JOIN,   /* a later loop: joins the first one's port */
};

/* The share for loop `index` of `n`. */
enum net_share net_share_of(int index, int n);

/* Resolves addr, binds, listens (non-blocking, SO_REUSEADDR, close-on-exec;
 * SO_REUSEPORT too unless NET_ALONE) and writes the bound "host:port" (the
 * real port when 0 was asked) into bound. Returns the socket, or -1 after
 * logging why. */
evutil_socket_t net_listen(const struct cfg_addr *addr, enum net_share share, char *bound,
                           size_t cap);

/* The port of a "host:port" that net_listen wrote into bound (0 if none):
 * what the later loops of a process bind after the first took port 0. */
uint16_t net_bound_port(const char *bound);

/* Turns Nagle's algorithm off on a connected socket: a push gateway's
 * frames are small and must leave at once, not wait for the peer's
 * (possibly delayed) ACK of the previous one. */
void net_nodelay(evutil_socket_t fd);

#endif
