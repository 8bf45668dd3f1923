/* Table-driven configuration: defaults, then the file named by --config,
 * then command-line flags (each flag "--name value" or "--name=value"; the
 * file has "name value" lines, '#' comments). Every key is both. */
#ifndef PG_CFG_H
#define PG_CFG_H
#include <stddef.h>
#include <stdint.h>

#include "cfg_addr.h"

enum cfg_type {
    CFG_STR,      /* char * (malloc'd, freed by cfg_free) */
    CFG_UINT,     /* uint64_t in [min, max], plain decimal (SPEC 2.6) */
    CFG_ADDR,     /* struct cfg_addr (cfg_addr.h) */
    CFG_LOGLEVEL, /* enum log_level */
    CFG_BOOL,     /* int, 1 or 0, written "yes" or "no" */
    CFG_ADDRS,    /* struct cfg_addr_list (cfg_addr.h), "h:p,h:p" */
};

/* Redis high availability (SPEC 6), the same for every daemon. */
struct cfg_redis_ha {
    struct cfg_addr_list sentinels;  /* none: --redis is used */
    char *master;                    /* the name the sentinels monitor */
    uint64_t min_replicas;           /* replicas WAIT must confirm before an ack */
};

struct cfg_opt {
    const char *name;     /* "tcp-address": flag --tcp-address, file key tcp-address */
    enum cfg_type type;
    size_t offset;        /* offsetof(conf struct, field) */
    const char *def;      /* default as text; NULL for an empty string */
    uint64_t min, max;    /* CFG_UINT only */
    const char *help;
};

/* One row of a daemon's option table, for a field of conf_type. */
#define CFG_OPT(conf_type, name, type, field, def, min, max, help) \
    { name, type, offsetof(conf_type, field), def, min, max, help }

/* The rows every daemon shares (SPEC 0, 6): conf_type has the fields
 * config, redis, redis_ha and log_level. */
#define CFG_DAEMON_OPTS(conf_type) \
    CFG_OPT(conf_type, "config", CFG_STR, config, NULL, 0, 0, \
            "read options from FILE (\"key value\" lines)"), \
    CFG_OPT(conf_type, "redis", CFG_ADDR, redis, "127.0.0.1:6379", 0, 0, "Redis host:port"), \
    CFG_OPT(conf_type, "redis-sentinels", CFG_ADDRS, redis_ha.sentinels, NULL, 0, 0, \
            "Redis sentinels host:port,host:port,... (set: the master comes from them)"), \
    CFG_OPT(conf_type, "redis-master", CFG_STR, redis_ha.master, "pushgate", 0, 0, \
            "the master's name in the sentinels' configuration"), \
    CFG_OPT(conf_type, "redis-min-replicas", CFG_UINT, redis_ha.min_replicas, "0", 0, 16, \
            "replicas that must hold a message before it is acknowledged (WAIT, 1 s)"), \
    CFG_OPT(conf_type, "log-level", CFG_LOGLEVEL, log_level, "info", 0, 0, \
            "debug, info, warn or error")

/* How many messages are kept, and how long, for a conf_type with the
 * fields offline_max and offline_ttl. */
#define CFG_OFFLINE_OPTS(conf_type) \
    CFG_OPT(conf_type, "offline-max", CFG_UINT, offline_max, "10000", 1, 100000000, \
            "messages kept per receiver (device, channel, API client)"), \
    CFG_OPT(conf_type, "offline-ttl", CFG_UINT, offline_ttl, "604800", 1, 31536000, \
            "seconds messages are kept")

enum cfg_result { CFG_OK = 0, CFG_EXIT = 1, CFG_ERR = -1 };

struct cfg_program {
    const char *name;     /* "brokerd" */
    const char *summary;  /* one line for --help */
    const struct cfg_opt *opts;
    size_t nopts;
};

/* Fills conf from defaults, the --config file and argv. --help and
 * --version print to stdout and return CFG_EXIT; an error is written to err
 * ("unknown option --x", "tcp-address: port out of range", with the file
 * line number for file errors) and returns CFG_ERR. */
enum cfg_result cfg_load(const struct cfg_program *prog, void *conf,
                         int argc, char **argv, char *err, size_t errlen);
/* Parses one value into the field; 0 or -1 with err filled. */
int cfg_set(const struct cfg_opt *opt, void *conf, const char *value, char *err, size_t errlen);
void cfg_free(const struct cfg_program *prog, void *conf);

#endif
