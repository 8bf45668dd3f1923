/* mesh.publish and conn.call subscribe/unsubscribe (mesh_chan.h): the
 * calls checked here, the work done by one script each
 * (lua/mesh_publish.lua, lua/mesh_subscribe.lua, lua/mesh_unsubscribe.lua),
 * whatever the number of subscribers. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "chan.h"
#include "mesh.h"
#include "mesh_chan.h"
#include "scripts.h"
#include "xmalloc.h"

int mesh_chans_parse(const json_t *v, int one_ok, struct mesh_chans *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    out->n = 0;
    if ((!json_is_array(v) && !(one_ok && (json_is_string(v) || json_is_integer(v)))) || n == 0 ||
        n > MESH_CHANNELS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        const char *s = json_string_value(e);
        if (json_is_integer(e) && json_integer_value(e) > 0)
            s = arg_int(out->id[i], (int64_t)json_integer_value(e));
        size_t len = s ? strlen(s) : 0;
        if (!s || (json_is_string(e) && len != json_string_length(e)) ||
            !chan_name_valid(s, len) || chan_name_reserved(s, len))
            return -1;
        size_t k = 0;  /* at most MESH_CHANNELS_MAX^2 / 2 short compares */
        while (k < out->n && strcmp(out->name[k], s) != 0)
            k++;
        if (k == out->n)
            out->name[out->n++] = s;
    }
    return 0;
}

/* ---- mesh.publish ---- */

void mesh_publish(struct mesh_call *c)
{
    struct broker *b = c->b;
    struct mesh_chans ch;
    int64_t mid;
    int has_mid;
    char *data;
    size_t len;
    if (mesh_over_limit(c))
        return;
    if (mesh_chans_parse(json_object_get(c->p, "c"), 1, &ch) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "c must be a channel name or 1..256 of them");
        return;
    }
    if (mesh_param_send(c, &mid, &has_mid, &data, &len) < 0)
        return;
    int64_t from = c->client ? c->client->client_id : 0;
    char fr[ARG_INT_MAX], ttl[ARG_INT_MAX], max[ARG_INT_MAX];
    struct mesh_args a;
    mesh_args_init(&a, 8 + 4 * ch.n, 1 + 3 * ch.n);
    mesh_args_add_str(&a, key_mesh_dup(a.key[0], from, mid));
    mesh_args_add_str(&a, KEY_NEXT_PUT_ID);
    mesh_args_add_str(&a, KEY_STATS);
    for (size_t i = 0; i < ch.n; i++) {
        mesh_args_add_str(&a, key_chn(a.key[1 + 3 * i], ch.name[i]));
        mesh_args_add_str(&a, key_chn_subs(a.key[2 + 3 * i], ch.name[i]));
        mesh_args_add_str(&a, key_chn_brokers(a.key[3 + 3 * i], ch.name[i]));
    }
    int nkeys = a.argc;
    mesh_args_add_str(&a, arg_int(fr, from));
    mesh_args_add_str(&a, has_mid ? "1" : "0");
    mesh_args_add_str(&a, arg_int(ttl, (int64_t)b->conf.offline_ttl * 1000));
    mesh_args_add_str(&a, arg_int(max, (int64_t)b->conf.offline_max));
    mesh_args_add(&a, data, len);
    for (size_t i = 0; i < ch.n; i++)
        mesh_args_add_str(&a, ch.name[i]);
    int rv = mesh_redis(c, mesh_reply_counts, SCRIPT_MESH_PUBLISH | STORE_ACK, nkeys, a.argc, a.argv, a.lens);
    mesh_args_free(&a);
    free(data);
    if (rv < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* ---- conn.call subscribe / unsubscribe ---- */

static const struct mesh_status subs_status[] = {
    { "unknown", MESH_E_SEND, "no such client" },
    { "toomany", MESH_E_CALL, "too many subscriptions" },
    { NULL, 0, NULL },
};

static void subs_done(struct mesh_call *c, redisReply *r)
{
    mesh_reply_script(c, r, subs_status);
}

void mesh_conn_subs(struct mesh_call *c, int64_t id, const json_t *a, int sub)
{
    struct broker *b = c->b;
    struct mesh_chans ch;
    if (mesh_chans_parse(a, 0, &ch) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "a must be an array of 1..256 channel names");
        return;
    }
    char dev[ARG_INT_MAX], max[ARG_INT_MAX];
    struct mesh_args s;
    mesh_args_init(&s, SUB_NKEYS * ch.n + 2 + ch.n, (SUB_NKEYS - 1) * ch.n);
    for (size_t i = 0; i < ch.n; i++) {
        sub_keys(s.argv + s.argc, s.key + (SUB_NKEYS - 1) * i, id, ch.name[i]);
        for (int k = 0; k < SUB_NKEYS; k++, s.argc++)
            s.lens[s.argc] = strlen(s.argv[s.argc]);
    }
    int nkeys = s.argc;
    mesh_args_add_str(&s, arg_int(dev, id));
    if (sub)
        mesh_args_add_str(&s, arg_int(max, (int64_t)b->conf.max_subs));
    for (size_t i = 0; i < ch.n; i++)
        mesh_args_add_str(&s, ch.name[i]);
    int rv = mesh_redis(c, subs_done, sub ? SCRIPT_MESH_SUBSCRIBE : SCRIPT_MESH_UNSUBSCRIBE,
                        nkeys, s.argc, s.argv, s.lens);
    mesh_args_free(&s);
    if (rv < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}
