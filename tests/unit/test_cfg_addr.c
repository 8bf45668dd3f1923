/* cfg_addr: "host:port" and "[v6]:port", parsed and formatted. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "cfg_addr.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

Test(cfg_addr, valid)
{
    static const struct { const char *s, *host; uint16_t port; } ok[] = {
        { "127.0.0.1:6379", "127.0.0.1", 6379 },
        { "localhost:0", "localhost", 0 },
        { "0.0.0.0:65535", "0.0.0.0", 65535 },
        { "redis-1.example_net.com:1", "redis-1.example_net.com", 1 },
        { "[::1]:8600", "::1", 8600 },
        { "[::]:0", "::", 0 },
        { "[2001:db8::ff00:42:8329]:443", "2001:db8::ff00:42:8329", 443 },
        { "[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1", 80 },
        { "[fe80::1%eth0]:80", "fe80::1%eth0", 80 },
    };
    for (size_t i = 0; i < NELEMS(ok); i++) {
        struct cfg_addr a;
        memset(&a, 0x5a, sizeof(a));
        cr_assert_eq(cfg_parse_addr(ok[i].s, &a), 0, "refused %s", ok[i].s);
        cr_assert_str_eq(a.host, ok[i].host);
        cr_assert_eq(a.port, ok[i].port, "%s", ok[i].s);
    }
}

Test(cfg_addr, invalid)
{
    static const char *bad[] = {
        "", ":80", "[]:80", "host", "host:", "host:65536", "host:99999999999999999999",
        "host:-1", "host:+1", "host:080", "host:00", "host: 80", "host:80 ", " host:80",
        "host:0x50", "host:8a", "::1:80", "a:b:c", "[::1]80", "[::1]", "[::1", "[::1]:",
        "[localhost]:80", "[::1]:8x", "[fe80::1%]:80", "[g::1]:80", "ho st:80", "host/x:80",
        "hö:80", "[::1]]:80",
    };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        struct cfg_addr a = { "keep", 7 };
        cr_assert_eq(cfg_parse_addr(bad[i], &a), -1, "accepted \"%s\"", bad[i]);
        cr_assert_str_eq(a.host, "keep", "written on failure: %s", bad[i]);
        cr_assert_eq(a.port, 7);
    }
    struct cfg_addr a;
    cr_assert_eq(cfg_parse_addr(NULL, &a), -1);
}

Test(cfg_addr, host_length_limit)
{
    char s[CFG_HOST_MAX + 16];
    struct cfg_addr a;

    memset(s, 'h', CFG_HOST_MAX - 1);
    strcpy(s + CFG_HOST_MAX - 1, ":1");
    cr_assert_eq(cfg_parse_addr(s, &a), 0);
    cr_assert_eq(strlen(a.host), CFG_HOST_MAX - 1);
    memset(s, 'h', CFG_HOST_MAX);
    strcpy(s + CFG_HOST_MAX, ":1");
    cr_assert_eq(cfg_parse_addr(s, &a), -1);
}

Test(cfg_addr, format)
{
    char buf[CFG_HOST_MAX + 8];
    struct cfg_addr v4 = { "127.0.0.1", 6379 };
    struct cfg_addr v6 = { "::1", 8600 };
    struct cfg_addr z = { "h", 0 };

    cfg_format_addr(&v4, buf, sizeof(buf));
    cr_assert_str_eq(buf, "127.0.0.1:6379");
    cfg_format_addr(&v6, buf, sizeof(buf));
    cr_assert_str_eq(buf, "[::1]:8600");
    cfg_format_addr(&z, buf, sizeof(buf));
    cr_assert_str_eq(buf, "h:0");
    cfg_format_addr(&v4, buf, 5);
    cr_assert_str_eq(buf, "127.");
    buf[0] = 'Q';
    cfg_format_addr(&v4, buf, 0);
    cr_assert_eq(buf[0], 'Q');
}

Test(cfg_addr, round_trip)
{
    static const char *s[] = { "1.2.3.4:5", "[fe80::1%eth0]:80", "example.com:65535", "[::]:0" };
    for (size_t i = 0; i < NELEMS(s); i++) {
        struct cfg_addr a;
        char buf[CFG_HOST_MAX + 8];
        cr_assert_eq(cfg_parse_addr(s[i], &a), 0);
        cfg_format_addr(&a, buf, sizeof(buf));
        cr_assert_str_eq(buf, s[i]);
    }
}

Test(cfg_addr, why_names_the_fault)
{
    static const struct { const char *s, *why; } bad[] = {
        { "", "empty address (want host:port)" },
        { "host", "missing ':port'" },
        { "[::1", "missing ']' after the IPv6 address" },
        { "[::1]80", "missing ':port' after ']'" },
        { "[g::1]:80", "bad IPv6 address in brackets" },
        { "::1:80", "an IPv6 address must be in brackets: [addr]:port" },
        { "ho st:80", "bad character in host" },
        { ":80", "empty host" },
        { "host:", "missing port" },
        { "host:080", "port is not a plain decimal number" },
        { "host:65536", "port out of range (0..65535)" },
    };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        struct cfg_addr a;
        const char *why = NULL;
        cr_assert_eq(cfg_addr_parse(bad[i].s, &a, &why), -1, "accepted \"%s\"", bad[i].s);
        cr_assert_str_eq(why, bad[i].why, "for \"%s\"", bad[i].s);
    }
    char long_host[CFG_HOST_MAX + 8];
    memset(long_host, 'h', CFG_HOST_MAX);
    strcpy(long_host + CFG_HOST_MAX, ":1");
    struct cfg_addr a;
    const char *why = NULL;
    cr_assert_eq(cfg_addr_parse(long_host, &a, &why), -1);
    cr_assert_str_eq(why, "host too long");
}

/* --redis-sentinels: "h:p,h:p", each checked as one address. */
Test(cfg_addr, list)
{
    struct cfg_addr_list l;
    const char *why = NULL;
    cr_assert_eq(cfg_addr_list_parse("127.0.0.1:26379,[::1]:26380,s3:1", &l, &why), 0);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.a[1].host, "::1");
    cr_assert_eq(l.a[1].port, 26380);
    cr_assert_str_eq(l.a[2].host, "s3");
    cr_assert_eq(cfg_addr_list_parse("", &l, &why), 0);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(cfg_addr_list_parse("a:1,,b:2", &l, &why), -1);
    cr_assert_str_eq(why, "empty address (want host:port)");
    cr_assert_eq(cfg_addr_list_parse("a:1,b", &l, &why), -1);
    cr_assert_str_eq(why, "missing ':port'");
    cr_assert_eq(cfg_addr_list_parse("a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9", &l, &why), -1);
    cr_assert_str_eq(why, "too many addresses (at most 8)");
}
