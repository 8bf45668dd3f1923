/* pushbench entry point: options (common/cfg), the protocol and workload
 * they name, the target addresses (loopback only), then coord_run. */
#include "config.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pushbench.h"

enum { EXIT_USAGE = 2 };

#define OPT(...) CFG_OPT(struct pb_opts, __VA_ARGS__)
static const struct cfg_opt pb_options[] = {
    OPT("proto", CFG_STR, proto, "pushgate", 0, 0, "pushgate, ws (its WebSocket clients), mqtt (3.1.1, QoS 0) or redis (pub/sub)"),
    OPT("workload", CFG_STR, workload, "fanout", 0, 0, "idle, fanout, unicast or put"),
    OPT("target", CFG_ADDR, target, "127.0.0.1:8600", 0, 0,
        "the broker: pushgate device port, MQTT listener or Redis (loopback only)"),
    OPT("put-address", CFG_ADDR, put_address, "127.0.0.1:8710", 0, 0,
        "routerd's /put listener, for the put workload (loopback only)"),
    OPT("pub-target", CFG_ADDR, pub_target, "127.0.0.1:8600", 0, 0,
        "--proto ws --workload fanout: the device port the (TCP) publisher uses (loopback only)"),
    OPT("service-token", CFG_STR, service_token, "", 0, 0,
        "--proto ws --workload fanout: brokerd's --service-token, for the subscriptions"),
    OPT("conns", CFG_UINT, conns, "100", 0, 1000000, "receiving connections (devices, subscribers)"),
    OPT("messages", CFG_UINT, messages, "200", 0, 100000000, "messages to publish (put: requests)"),
    OPT("size", CFG_UINT, size, "64", PB_STAMP_LEN, 1048576,
        "payload bytes; the first 20 carry the send time"),
    OPT("rate", CFG_UINT, rate, "0", 0, 10000000, "messages per second, 0 = as fast as taken"),
    OPT("publishers", CFG_UINT, publishers, "1", 1, 1000, "publishing connections"),
    OPT("concurrency", CFG_UINT, concurrency, "16", 1, 10000, "put: HTTP requests in flight"),
    OPT("workers", CFG_UINT, workers, "2", 1, 64, "receiver processes (each holds conns / workers)"),
    OPT("connect-rate", CFG_UINT, connect_rate, "5000", 0, 1000000,
        "new connections per second over all workers, 0 = no limit"),
    OPT("connect-window", CFG_UINT, connect_window, "512", 1, 100000,
        "connections being set up at once over all workers (mind the accept backlog)"),
    OPT("broker-pid", CFG_UINT, broker_pid, "0", 0, 4194304, "process to sample for CPU and VmRSS"),
    OPT("aux-pid", CFG_UINT, aux_pid, "0", 0, 4194304,
        "a second process to sample (the Redis behind pushgate)"),
    OPT("timeout", CFG_UINT, timeout, "30", 1, 3600,
        "seconds for the set-up, and without progress while running"),
    OPT("settle-ms", CFG_UINT, settle_ms, "1000", 0, 600000, "idle: wait before sampling memory"),
    OPT("id-base", CFG_UINT, id_base, "1000000", 1, INT64_MAX / 2, "first client id"),
    OPT("channel-base", CFG_UINT, channel_base, "1000000", 1, INT64_MAX / 2, "first channel id"),
    OPT("heartbeat", CFG_UINT, heartbeat, "30", 1, 3600, "seconds between keep-alives"),
    OPT("tls", CFG_BOOL, tls, "no", 0, 0,
        "pushgate: ask for TLS in IDENTIFY (the certificate is not checked)"),
    OPT("deflate", CFG_UINT, deflate, "0", 0, 9, "pushgate: ask for deflate at this level (0: none)"),
    OPT("log-level", CFG_LOGLEVEL, log_level, "warn", 0, 0, "how much to log on stderr"),
};
#undef OPT

static const struct cfg_program pb_prog = {
    "pushbench",
    "load generator for pushgate, MQTT brokers and Redis pub/sub (figures on stdout)",
    pb_options,
    sizeof(pb_options) / sizeof(pb_options[0]),
};

#define usage_error(...) (fprintf(stderr, "pushbench: " __VA_ARGS__), \
                          fputs("\nTry 'pushbench --help'.\n", stderr), EXIT_USAGE)

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &in6addr_loopback,
                      sizeof(in6addr_loopback)) == 0;
    return 0;
}

/* Resolves a (numeric or local) address; load only ever goes to loopback. */
static int resolve(const char *what, const struct cfg_addr *a, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    struct addrinfo hints, *ai = NULL;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", (unsigned)a->port);
    if ((rc = getaddrinfo(a->host, port, &hints, &ai)) != 0)
        return usage_error("--%s: %s", what, gai_strerror(rc));
    if (!is_loopback(ai->ai_addr) || ai->ai_addrlen > sizeof(*ss)) {
        freeaddrinfo(ai);
        return usage_error("--%s: %s is not a loopback address", what, a->host);
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static const struct pb_proto *find_proto(const char *name)
{
    static const struct pb_proto *const all[] = {
        &pb_proto_pushgate, &pb_proto_ws, &pb_proto_mqtt, &pb_proto_redis,
    };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name != NULL && strcmp(name, all[i]->name) == 0)
            return all[i];
    return NULL;
}

static const struct pb_workload *find_workload(const char *name)
{
    static const struct pb_workload *const all[] = {
        &pb_wl_idle, &pb_wl_fanout, &pb_wl_unicast, &pb_wl_put,
    };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name != NULL && strcmp(name, all[i]->name) == 0)
            return all[i];
    return NULL;
}

/* Options -> cfg. Returns -1 to run, or the status to exit with. */
static int pb_init(struct pb_config *cfg, int argc, char **argv)
{
    struct pb_opts *o = &cfg->o;
    char err[256];
    const char *why;

    log_set_program("pushbench");
    switch (cfg_load(&pb_prog, o, argc, argv, err, sizeof(err))) {
    case CFG_OK: break;
    case CFG_EXIT: return 0;
    default: return usage_error("%s", err);
    }
    log_set_level(o->log_level);
    if ((cfg->proto = find_proto(o->proto)) == NULL)
        return usage_error("--proto: expected pushgate, ws, mqtt or redis");
    if ((cfg->wl = find_workload(o->workload)) == NULL)
        return usage_error("--workload: expected idle, fanout, unicast or put");
    if (cfg->proto == &pb_proto_ws && cfg->wl != &pb_wl_idle && cfg->wl != &pb_wl_fanout)
        return usage_error("--proto ws: the idle and fanout workloads only");
    if ((why = cfg->wl->check(o)) != NULL)
        return usage_error("%s", why);
    if ((o->tls || o->deflate) && cfg->proto != &pb_proto_pushgate)
        return usage_error("--tls and --deflate are pushgate's: --proto pushgate");
    if (cfg->wl->pub == PUB_HTTP && cfg->proto != &pb_proto_pushgate)
        return usage_error("the put workload goes through routerd: --proto pushgate");
    cfg->pub_proto = cfg->wl->pub == PUB_HTTP ? &pb_proto_http : cfg->proto;
    /* WebSocket clients do not publish here: a TCP device does (PUB). */
    if (cfg->proto == &pb_proto_ws && cfg->wl->pub == PUB_DEVICE)
        cfg->pub_proto = &pb_proto_pushgate;
    if (resolve("target", &o->target, &cfg->target_sa, &cfg->target_len) != 0 ||
        (cfg->wl->pub == PUB_HTTP &&
         resolve("put-address", &o->put_address, &cfg->put_sa, &cfg->put_len) != 0) ||
        (cfg->pub_proto != cfg->proto && cfg->wl->pub == PUB_DEVICE &&
         resolve("pub-target", &o->pub_target, &cfg->pub_sa, &cfg->pub_len) != 0))
        return EXIT_USAGE;
    /* Message ids unique per sender across runs: the start second, then
     * room for 10^8 messages (the broker remembers ids for 10 minutes). */
    cfg->mid_base = (uint64_t)time(NULL) * 100000000ull + 1;
    return -1;
}

int main(int argc, char **argv)
{
    struct pb_config cfg;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    if ((rc = pb_init(&cfg, argc, argv)) < 0) {
        const struct pb_opts *o = &cfg.o;
        printf("# pushbench %s workload=%s proto=%s conns=%llu messages=%llu size=%llu "
               "rate=%llu publishers=%llu concurrency=%llu workers=%llu\n",
               PACKAGE_VERSION, o->workload, o->proto, (unsigned long long)o->conns,
               (unsigned long long)o->messages, (unsigned long long)o->size,
               (unsigned long long)o->rate, (unsigned long long)o->publishers,
               (unsigned long long)o->concurrency, (unsigned long long)o->workers);
        rc = coord_run(&cfg);
    }
    cfg_free(&pb_prog, &cfg.o);
    return rc;
}
