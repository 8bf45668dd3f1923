/* A host and port as options give them: "host:port", "[v6]:port" (with an
 * optional %zone), port 0..65535. */
#ifndef PG_CFG_ADDR_H
#define PG_CFG_ADDR_H
#include <stddef.h>
#include <stdint.h>

#define CFG_HOST_MAX 256

struct cfg_addr {
    char host[CFG_HOST_MAX];   /* without brackets */
    uint16_t port;
};

/* A comma-separated list of addresses ("h:p,h:p"), e.g. Redis sentinels. */
#define CFG_ADDRS_MAX 8
struct cfg_addr_list {
    int n;
    struct cfg_addr a[CFG_ADDRS_MAX];
};

/* s -> *out; 0, or -1 with *why (a static string) saying what is wrong.
 * *out is untouched on failure. */
int cfg_addr_parse(const char *s, struct cfg_addr *out, const char **why);
/* A list; "" is the empty list. */
int cfg_addr_list_parse(const char *s, struct cfg_addr_list *out, const char **why);
/* The same without the reason. */
int cfg_parse_addr(const char *s, struct cfg_addr *out);
/* 1 if addr's host is a loopback address (127.0.0.0/8, ::1, localhost). */
int cfg_addr_is_loopback(const struct cfg_addr *a);
/* Formats addr as "host:port" (brackets for IPv6), truncated to cap. */
void cfg_format_addr(const struct cfg_addr *a, char *buf, size_t cap);

#endif
