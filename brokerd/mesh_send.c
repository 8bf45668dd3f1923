/* mesh.send (SPEC 5.3): a message to one device, as /put sends it (an id
 * from /put's counter, kept while the device is away), from the calling
 * client or, for a service, from 0; retry-safe with "mid". */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "scripts.h"

static void send_done(struct mesh_call *c, redisReply *r)
{
    const char *status = script_status(r);
    if (status && strcmp(status, "ok") == 0) {
        c->b->stats.messages_in++;
        mesh_reply_ok(c);
    } else if (status && strcmp(status, "nodevice") == 0) {
        mesh_reply_err(c, MESH_E_SEND, "no such client");
    } else {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
    }
}

void mesh_send(struct mesh_call *c)
{
    struct broker *b = c->b;
    int64_t to, mid;
    int has_mid;
    char *data;
    size_t len;
    if (mesh_over_limit(c))
        return;
    if (mesh_param_id(c->p, "c", &to) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be a client id");
        return;
    }
    if (mesh_param_send(c, &mid, &has_mid, &data, &len) < 0)
        return;
    int64_t from = c->client ? c->client->client_id : 0;
    char key[4][KEY_MAX], fr[ARG_INT_MAX], t[ARG_INT_MAX], ttl[ARG_INT_MAX], max[ARG_INT_MAX];
    const char *argv[] = { key_mesh_dup(key[0], from, mid), key_dev_in(key[1], to),
                           key_dev(key[2], to), KEY_NEXT_PUT_ID, KEY_KEPT, KEY_STATS,
                           arg_int(fr, from), arg_int(t, to), data,
                           arg_int(ttl, (int64_t)b->conf.offline_ttl * 1000),
                           arg_int(max, (int64_t)b->conf.offline_max), has_mid ? "1" : "0" };
    size_t lens[12];
    for (int k = 0; k < 12; k++)
        lens[k] = k == 8 ? len : strlen(argv[k]);  /* the data is not a C string */
    int rv = mesh_redis(c, send_done, SCRIPT_SEND | STORE_ACK, 6, 12, argv, lens);
    free(data);
    if (rv < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}
