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

struct mesh_call;
/* conn.call subscribe (sub) or unsubscribe of device id to the channels
 * of a (an array, or NULL): answers c. */
void mesh_conn_subs(struct mesh_call *c, int64_t id, const json_t *a, int sub);

#endif
