#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* Formats a socket address as host:port, brackets around IPv6 hosts. */
static void net_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "?");
        return;
    }
    if (sa->sa_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%s", host, port);
    else
        snprintf(buf, cap, "%s:%s", host, port);
}

enum net_share net_share_of(int index, int n)
{
    return n <= 1 ? NET_ALONE : index == 0 ? NET_SHARE_FIRST : NET_SHARE_JOIN;
}

/* SO_REUSEPORT would let another process of the same user bind the port too,
 * without an error, and take part of its connections: the first loop checks
 * with a plain bind that nothing listens there yet. */
static int net_port_taken(const struct addrinfo *ai)
{
    evutil_socket_t fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    evutil_make_listen_socket_reuseable(fd);
    int taken = bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE;
    evutil_closesocket(fd);
    return taken;
}

evutil_socket_t net_listen(const struct cfg_addr *addr, enum net_share share, char *bound,
                           size_t cap)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
    /* getaddrinfo blocks, but only here at start-up. */
    int gai = getaddrinfo(addr->host, port, &hints, &res);
    if (gai != 0) {
        log_error("cannot resolve %s: %s", addr->host, gai_strerror(gai));
        return -1;
    }
    evutil_socket_t fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (share == NET_SHARE_FIRST && addr->port != 0 && net_port_taken(ai)) {
            errno = EADDRINUSE;
            continue;
        }
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        evutil_make_listen_socket_reuseable(fd);
        if (share != NET_ALONE)
            evutil_make_listen_socket_reuseable_port(fd);
        /* The kernel caps the backlog at net.core.somaxconn. */
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        evutil_closesocket(fd);
        fd = -1;
    }
    if (fd < 0) {
        log_error("cannot listen on %s:%s: %s", addr->host, port,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    net_format((struct sockaddr *)&ss, len, bound, cap);
    return fd;
}

uint16_t net_bound_port(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    return (uint16_t)atoi(colon ? colon + 1 : "0");
}

void net_nodelay(evutil_socket_t fd)
{
    int one = 1;
    /* Fails only on non-TCP sockets, where there is nothing to turn off. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
