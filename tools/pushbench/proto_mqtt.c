/* MQTT 3.1.1 at QoS 0, just what the workloads need (CONNECT, SUBSCRIBE,
 * PUBLISH, PINGREQ), so the same runs go against Mosquitto. Channel c is
 * the topic "pb/c"; the client id is "pb" and the client id number. */
#include <stdio.h>
#include <string.h>

#include "pushbench.h"

enum {
    MQTT_CONNECT = 1, MQTT_CONNACK = 2, MQTT_PUBLISH = 3, MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9, MQTT_PINGREQ = 12, MQTT_PINGRESP = 13,
};
#define MQTT_MAX_PACKET (16u << 20)

/* Fixed header: type and flags, then the remaining length in 7-bit groups. */
static size_t mqtt_header(unsigned char *out, unsigned type_flags, size_t remaining)
{
    size_t n = 0;

    out[n++] = (unsigned char)type_flags;
    do {
        unsigned char b = remaining & 0x7f;
        remaining >>= 7;
        out[n++] = remaining ? (unsigned char)(b | 0x80) : b;
    } while (remaining);
    return n;
}

static size_t mqtt_string(unsigned char *out, const char *s, size_t len)
{
    out[0] = (unsigned char)(len >> 8);
    out[1] = (unsigned char)len;
    memcpy(out + 2, s, len);
    return 2 + len;
}

static size_t topic_of(char *buf, size_t cap, int64_t channel)
{
    return (size_t)snprintf(buf, cap, "pb/%lld", (long long)channel);
}

/* CONNECT (clean session, keep-alive twice our ping interval) and, for a
 * receiver, SUBSCRIBE at QoS 0; ready at CONNACK and SUBACK. */
static void mqtt_open(struct pb_conn *c)
{
    unsigned char pkt[256];
    char id[32], topic[32];
    size_t idl = (size_t)snprintf(id, sizeof(id), "pb%lld", (long long)c->client_id);
    uint64_t ka = c->w->cfg->o.heartbeat * 2;
    size_t n = mqtt_header(pkt, MQTT_CONNECT << 4, 10 + 2 + idl);

    n += mqtt_string(pkt + n, "MQTT", 4);
    pkt[n++] = 4;                          /* protocol level 3.1.1 */
    pkt[n++] = 0x02;                       /* clean session */
    pkt[n++] = (unsigned char)((ka > 65535 ? 65535 : ka) >> 8);
    pkt[n++] = (unsigned char)(ka > 65535 ? 65535 : ka);
    n += mqtt_string(pkt + n, id, idl);
    c->awaiting = 1;
    if (c->channel != 0) {
        size_t tl = topic_of(topic, sizeof(topic), c->channel);
        n += mqtt_header(pkt + n, MQTT_SUBSCRIBE << 4 | 0x2, 2 + 2 + tl + 1);
        pkt[n++] = 0;
        pkt[n++] = 1;                      /* packet id */
        n += mqtt_string(pkt + n, topic, tl);
        pkt[n++] = 0;                      /* QoS 0 */
        c->awaiting = 2;
    }
    pb_conn_write(c, pkt, n);
}

static void mqtt_publish(struct pb_conn *c, int64_t channel, uint64_t seq, const char *body,
                         size_t len)
{
    unsigned char hdr[64];
    char topic[32];
    size_t tl = topic_of(topic, sizeof(topic), channel);
    size_t n = mqtt_header(hdr, MQTT_PUBLISH << 4, 2 + tl + len);

    (void)seq;
    n += mqtt_string(hdr + n, topic, tl);
    pb_conn_write(c, hdr, n);
    pb_conn_write(c, body, len);
}

static void mqtt_packet(struct pb_conn *c, unsigned type_flags, const unsigned char *p,
                        size_t len, int *fail)
{
    size_t tl, skip;

    switch (type_flags >> 4) {
    case MQTT_CONNACK:
        if (len < 2 || p[1] != 0) {
            pb_conn_error(c, "CONNACK refused", 15);
            *fail = 1;
        } else if (c->awaiting > 0 && --c->awaiting == 0) {
            pb_conn_ready(c);
        }
        break;
    case MQTT_SUBACK:
        if (len < 3 || p[2] == 0x80) {
            pb_conn_error(c, "SUBACK refused", 14);
            *fail = 1;
        } else if (c->awaiting > 0 && --c->awaiting == 0) {
            pb_conn_ready(c);
        }
        break;
    case MQTT_PUBLISH:
        if (len < 2 || (tl = (size_t)p[0] << 8 | p[1]) + 2 > len) {
            *fail = 1;
            break;
        }
        skip = 2 + tl + ((type_flags & 0x06) ? 2 : 0);   /* QoS > 0: packet id */
        if (skip > len) {
            *fail = 1;
            break;
        }
        pb_conn_message(c, (const char *)p + skip, len - skip);
        break;
    default:
        break;   /* PINGRESP and anything else we did not ask for */
    }
}

static ssize_t mqtt_input(struct pb_conn *c, const char *data, size_t len)
{
    const unsigned char *u = (const unsigned char *)data;
    size_t off = 0;
    int fail = 0;

    while (!fail && len - off >= 2) {
        size_t rl = 0, i = off + 1;
        unsigned shift = 0;

        for (;;) {
            if (i >= len)
                return (ssize_t)off;            /* length still arriving */
            rl |= (size_t)(u[i] & 0x7f) << shift;
            if (!(u[i++] & 0x80))
                break;
            if ((shift += 7) > 21)
                return -1;
        }
        if (rl > MQTT_MAX_PACKET)
            return -1;
        if (len - i < rl)
            break;
        mqtt_packet(c, u[off], u + i, rl, &fail);
        off = i + rl;
    }
    return fail ? -1 : (ssize_t)off;
}

static void mqtt_ping(struct pb_conn *c)
{
    static const unsigned char ping[2] = { MQTT_PINGREQ << 4, 0 };

    pb_conn_write(c, ping, sizeof(ping));
}

const struct pb_proto pb_proto_mqtt = {
    "mqtt", 0, mqtt_open, mqtt_publish, mqtt_input, mqtt_ping,
};
