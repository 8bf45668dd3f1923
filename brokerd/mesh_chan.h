/* The mesh API's channel calls (SPEC 5.3, 5.5): mesh.publish and
 * conn.call subscribe/unsubscribe, on channel names (docs/DESIGN.md,
 * "Channel names"). */
#ifndef PG_MESH_CHAN_H
#define PG_MESH_CHAN_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keys.h"

/* Channels per call: each is a few Redis commands of one script. */
#define MESH_CHANNELS_MAX 256

struct mesh_chans {
    const char *name[MESH_CHANNELS_MAX];   /* borrowed from the call's JSON, or in id */
    char id[MESH_CHANNELS_MAX][ARG_INT_MAX]; /* channel ids sent as JSON integers */
    size_t n;
};

/* The channels of v: an array of names, or (one_ok) one name; each valid
 * and not reserved, 1..MESH_CHANNELS_MAX of them, repeats dropped (the
 * first kept). A channel id may come as a JSON integer (SPEC 5.2: ids are
 * strings, requests also accept integers). 0, or -1: the call is 101. */
int mesh_chans_parse(const json_t *v, int one_ok, struct mesh_chans *out);

/* A script's arguments: its keys (built in key, nkey_bufs of them at
 * most), then its values; lens for argv (mesh_args.c). Freed by
 * mesh_args_free. */
struct mesh_args {
    const char **argv;
    size_t *lens;
    char (*key)[KEY_MAX];
    int argc;
};
void mesh_args_init(struct mesh_args *a, size_t nargs, size_t nkey_bufs);
void mesh_args_add(struct mesh_args *a, const char *s, size_t len);
void mesh_args_add_str(struct mesh_args *a, const char *s);
void mesh_args_free(struct mesh_args *a);

struct mesh_call;
struct redisReply;
/* Answers c {"s":S,"f":F} from a script's {'ok', s, f} or {'ok', s, f, n}
 * (n: the messages routed, counted in messages_in; else s is); 503 for
 * anything else (mesh_sends.c). */
void mesh_reply_counts(struct mesh_call *c, struct redisReply *r);
/* conn.call subscribe (sub) or unsubscribe of device id to the channels
 * of a (an array, or NULL): answers c. */
void mesh_conn_subs(struct mesh_call *c, int64_t id, const json_t *a, int sub);

#endif
