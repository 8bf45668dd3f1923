/* conn.open and conn.close (SPEC 5.4, 5.5 "Upstream and events"): every
 * device connection, TCP or WebSocket, that identifies makes one of each,
 * pushed to the reserved topic $conn through the upstream queue, so that
 * they are kept while no worker pops and each goes to one popping worker.
 * They are queued with the pass's upstream frames (queue_push_env): a
 * burst of connections costs one push script per pass, not one per
 * event. A broker killed with -9 sends none: the beat of a broker that
 * finds it dead does (lua/broker_reap.lua). */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>

#include "broker.h"
#include "mesh.h"

/* The peer's address of socket fd as text (IPv4 or IPv6) in buf, "" when
 * it cannot be had. getpeername fails on a socket a reset closed; Linux's
 * SO_PEERNAME still answers then, so a close keeps its address. */
static const char *conn_peer(int fd, char buf[CONN_IP_MAX])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    const void *addr = NULL;
    buf[0] = '\0';
    if (fd < 0)
        return buf;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
#ifdef SO_PEERNAME
        len = sizeof(ss);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &ss, &len) < 0)
            return buf;
#else
        return buf;
#endif
    }
    int family = ss.ss_family;
    if (family == AF_INET) {
        addr = &((const struct sockaddr_in *)&ss)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
        addr = a6;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {  /* an IPv4 peer of a dual-stack listener */
            family = AF_INET;
            addr = &a6->s6_addr[12];
        }
    }
    if (!addr || !inet_ntop(family, addr, buf, INET6_ADDRSTRLEN))
        buf[0] = '\0';
    return buf;
}

_Static_assert(CONN_IP_MAX == INET6_ADDRSTRLEN, "CONN_IP_MAX is INET6_ADDRSTRLEN");

const char *conn_topic(struct session *c)
{
    return ws_is_client(c) ? ws_client_topic(c) : "";
}

const char *conn_ip(struct session *c, char ip[CONN_IP_MAX])
{
    return conn_peer(c->ops->fd ? c->ops->fd(c) : -1, ip);
}

void conn_event(struct session *c, int open)
{
    struct broker *b = c->b;
    char cid[ARG_INT_MAX], ip[CONN_IP_MAX];
    json_t *p = json_pack("{s:I, s:s, s:s, s:s, s:I}", "n", (json_int_t)b->id,
                          "c", arg_int(cid, c->client_id), "t", conn_topic(c),
                          "ip", conn_ip(c, ip),
                          "ts", (json_int_t)now_ms());
    size_t len;
    char *text = p ? mesh_event_text(open ? "conn.open" : "conn.close", p, &len) : NULL;
    if (!text) {
        log_warn("client %lld: its %s event could not be encoded", (long long)c->client_id,
                 open ? "conn.open" : "conn.close");
        return;
    }
    queue_push_env(b, QUEUE_CONN_TOPIC, text, len);
}
