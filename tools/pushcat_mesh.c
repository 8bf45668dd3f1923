/* The options of pushcat's mesh commands (pushcat_mesh.h): cfg's table,
 * and the operands taken out of argv first (cfg has none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushcat_mesh.h"
#include "xmalloc.h"

#define OPT(...) CFG_OPT(struct mesh_opts, __VA_ARGS__)
static const struct cfg_opt mesh_opt_table[] = {
    OPT("ws", CFG_ADDR, ws, "127.0.0.1:6789", 0, 0, "the broker's mesh port host:port (--ws-address)"),
    OPT("service-token", CFG_STR, service_token, NULL, 0, 0,
        "the broker's --service-token (sent as Authorization: Bearer)"),
    OPT("timeout", CFG_UINT, timeout, "10", 1, 3600, "seconds to wait for the broker"),
    OPT("log-level", CFG_LOGLEVEL, log_level, "warn", 0, 0, "how much to log on stderr"),
};
#undef OPT

static const char *const mesh_summary[2] = {
    "make one mesh call as a service: pushcat call METHOD [JSON]; prints the reply envelope",
    "pop topics as a mesh service: pushcat pop TOPIC...; prints each event as a line of JSON, "
    "reconnecting when the connection is lost",
};

/* Parses argv into o: -1 to go on, or the exit code (--help, --version,
 * a usage error, said on stderr). */
static int mesh_opts_parse(struct mesh_opts *o, int argc, char **argv, const char *summary)
{
    char name[32], err[256];
    const struct cfg_program prog = { name, summary, mesh_opt_table,
                                      sizeof(mesh_opt_table) / sizeof(mesh_opt_table[0]) };
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int n = 0, rc = -1;
    snprintf(name, sizeof(name), "pushcat %s", argv[0]);
    memset(o, 0, sizeof(*o));
    rest[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            if (o->noperands == MESH_OPERANDS_MAX) {
                fprintf(stderr, "pushcat %s: more than %d operands\n", argv[0], MESH_OPERANDS_MAX);
                rc = MESH_EXIT_USAGE;
                goto done;
            }
            if (strcmp(a, "--") != 0)
                o->operands[o->noperands++] = argv[i];
            continue;
        }
        rest[n++] = argv[i];
        if (!strchr(a, '=') && strcmp(a, "--help") != 0 && strcmp(a, "--version") != 0 &&
            i + 1 < argc)
            rest[n++] = argv[++i];
    }
    switch (cfg_load(&prog, o, n, rest, err, sizeof(err))) {
    case CFG_OK:
        log_set_level(o->log_level);
        break;
    case CFG_EXIT:
        rc = MESH_EXIT_OK;
        break;
    default:
        fprintf(stderr, "pushcat %s: %s\nTry 'pushcat %s --help'.\n", argv[0], err, argv[0]);
        rc = MESH_EXIT_USAGE;
        break;
    }
done:
    free(rest);
    return rc;
}

int pushcat_mesh(int argc, char **argv)
{
    struct mesh_opts o;
    int pop = strcmp(argv[0], "pop") == 0;
    int rc = mesh_opts_parse(&o, argc, argv, mesh_summary[pop]);
    if (rc >= 0) {
        mesh_opts_free(&o);
        return rc;
    }
    return pop ? pushcat_pop(&o) : pushcat_call(&o);
}

int mesh_usage(struct mesh_opts *o, const char *cmd, const char *want)
{
    fprintf(stderr, "pushcat %s: want %s\nTry 'pushcat %s --help'.\n", cmd, want, cmd);
    mesh_opts_free(o);
    return MESH_EXIT_USAGE;
}

void mesh_opts_free(struct mesh_opts *o)
{
    free(o->service_token);
    o->service_token = NULL;
}
