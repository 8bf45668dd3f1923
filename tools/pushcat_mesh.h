/* pushcat's mesh commands (SPEC 5): `pushcat call METHOD [JSON]` makes one
 * service call over POST /v1/<method> (pushcat_call.c), `pushcat pop
 * TOPIC...` pops topics as a WebSocket service and prints each event
 * (pushcat_pop.c). Their options are one table (pushcat_mesh.c). */
#ifndef PG_PUSHCAT_MESH_H
#define PG_PUSHCAT_MESH_H
#include <stdint.h>

#include "cfg.h"
#include "log.h"

/* Exit codes of both commands (man/pushcat.1). */
enum { MESH_EXIT_OK = 0, MESH_EXIT_NO_REPLY = 1, MESH_EXIT_USAGE = 2, MESH_EXIT_ERROR = 3 };

#define MESH_OPERANDS_MAX 256

struct mesh_opts {
    struct cfg_addr ws;          /* --ws: the broker's mesh port */
    char *service_token;         /* --service-token */
    uint64_t timeout;            /* --timeout seconds (call; pop: to connect) */
    enum log_level log_level;
    char *operands[MESH_OPERANDS_MAX];
    int noperands;
};

/* `pushcat call ...` or `pushcat pop ...` (argv[0] is "call" or "pop"):
 * the options parsed, then the command run; its exit code. */
int pushcat_mesh(int argc, char **argv);
void mesh_opts_free(struct mesh_opts *o);
/* Says what command cmd wants (on stderr), frees o: MESH_EXIT_USAGE. */
int mesh_usage(struct mesh_opts *o, const char *cmd, const char *want);

/* The commands, given the parsed options (they free them). */
int pushcat_call(struct mesh_opts *o);   /* pushcat_call.c */
int pushcat_pop(struct mesh_opts *o);    /* pushcat_pop.c */

#endif
