/* Addresses (cfg_addr.h): "host:port" and "[v6]:port", parsed for the
 * CFG_ADDR options and formatted back. Hosts are checked by their
 * characters only; resolving them is left to whoever connects or binds. */
#include "cfg_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "numparse.h"

static int host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '-' || c == '_';
}

/* An IPv6 literal: hex digits, ':' and '.' (embedded IPv4), at least one
 * ':', optionally "%zone" with a zone made of host characters. */
static int ipv6_ok(const char *h, size_t len)
{
    size_t i = 0;
    int colons = 0;

    for (; i < len && h[i] != '%'; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == ':')
            colons++;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
                   || c == '.'))
            return 0;
    }
    if (colons == 0)
        return 0;
    if (i < len) {  /* '%' zone */
        if (++i == len)
            return 0;
        for (; i < len; i++)
            if (!host_char((unsigned char)h[i]))
                return 0;
    }
    return 1;
}

int cfg_addr_parse(const char *s, struct cfg_addr *out, const char **why)
{
    const char *host, *hend, *port;
    uint64_t p;

    if (s == NULL || *s == '\0') {
        *why = "empty address (want host:port)";
        return -1;
    }
    if (s[0] == '[') {
        host = s + 1;
        hend = strchr(host, ']');
        if (hend == NULL) {
            *why = "missing ']' after the IPv6 address";
            return -1;
        }
        if (hend[1] != ':') {
            *why = "missing ':port' after ']'";
            return -1;
        }
        port = hend + 2;
        if (hend > host && !ipv6_ok(host, (size_t)(hend - host))) {
            *why = "bad IPv6 address in brackets";
            return -1;
        }
    } else {
        hend = strrchr(s, ':');
        if (hend == NULL) {
            *why = "missing ':port'";
            return -1;
        }
        host = s;
        port = hend + 1;
        if (memchr(host, ':', (size_t)(hend - host)) != NULL) {
            *why = "an IPv6 address must be in brackets: [addr]:port";
            return -1;
        }
        for (const char *c = host; c < hend; c++) {
            if (!host_char((unsigned char)*c)) {
                *why = "bad character in host";
                return -1;
            }
        }
    }
    size_t hlen = (size_t)(hend - host);
    if (hlen == 0) {
        *why = "empty host";
        return -1;
    }
    if (hlen >= CFG_HOST_MAX) {
        *why = "host too long";
        return -1;
    }
    size_t plen = strlen(port);
    if (plen == 0) {
        *why = "missing port";
        return -1;
    }
    if (parse_uint_range(port, plen, 0, UINT64_MAX, &p) != 0) {
        *why = "port is not a plain decimal number";
        return -1;
    }
    if (p > 65535) {
        *why = "port out of range (0..65535)";
        return -1;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = (uint16_t)p;
    return 0;
}

int cfg_addr_list_parse(const char *s, struct cfg_addr_list *out, const char **why)
{
    struct cfg_addr_list l = { 0 };
    char one[CFG_HOST_MAX + 16];

    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (l.n == CFG_ADDRS_MAX) {
            *why = "too many addresses (at most 8)";
            return -1;
        }
        if (len >= sizeof(one)) {
            *why = "host too long";
            return -1;
        }
        memcpy(one, s, len);
        one[len] = '\0';
        if (cfg_addr_parse(one, &l.a[l.n], why) != 0)
            return -1;
        l.n++;
        s = comma ? comma + 1 : NULL;
    }
    *out = l;
    return 0;
}

int cfg_parse_addr(const char *s, struct cfg_addr *out)
{
    const char *why;

    return cfg_addr_parse(s, out, &why);
}

void cfg_format_addr(const struct cfg_addr *a, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (strchr(a->host, ':') != NULL)
        snprintf(buf, cap, "[%s]:%u", a->host, (unsigned)a->port);
    else
        snprintf(buf, cap, "%s:%u", a->host, (unsigned)a->port);
}

int cfg_addr_is_loopback(const struct cfg_addr *a)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (strcmp(a->host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, a->host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, a->host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}
