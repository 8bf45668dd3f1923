/* The sends of many messages in one call (SPEC 5.4, 5.5 "Sends"):
 * mesh.multicast (one body, many clients), mesh.send_bulk (a body per
 * client) and mesh.publish_bulk (a body per item, one channel or several
 * each). Every call is checked whole before anything is sent (a bad item
 * is 101 for the call), holds at most MESH_ITEMS_MAX items, and is one
 * script that sends each message as mesh.send or mesh.publish does
 * (lua/mesh_send_many.lua, lua/mesh_publish_bulk.lua, through the same
 * pg.send and pg.publish of lib.lua). */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "broker.h"
#include "mesh.h"
#include "mesh_chan.h"
#include "scripts.h"
#include "xmalloc.h"

/* What the calls gather before their script: bodies (malloc'd), and
 * strings the script's arguments point to. */
struct sends {
    char **bodies;
    size_t *lens;
    size_t nbodies;
    char (*ids)[ARG_INT_MAX];    /* client ids, or item channel counts */
    char **names;                /* channel names (copies) */
    size_t nnames;
};

static void sends_free(struct sends *s)
{
    for (size_t i = 0; i < s->nbodies; i++)
        free(s->bodies[i]);
    for (size_t i = 0; i < s->nnames; i++)
        free(s->names[i]);
    free(s->bodies);
    free(s->lens);
    free(s->ids);
    free(s->names);
}

/* The array at key of c's params, 1..MESH_ITEMS_MAX long; NULL: the call
 * was answered 101. */
static const json_t *sends_array(struct mesh_call *c, const char *key, const char *what)
{
    const json_t *v = json_object_get(c->p, key);
    size_t n = json_array_size(v);
    if (json_is_array(v) && n > 0 && n <= MESH_ITEMS_MAX)
        return v;
    mesh_reply_err(c, MESH_E_PARAMS, what);
    return NULL;
}

void mesh_reply_counts(struct mesh_call *c, redisReply *r)
{
    int routed = script_ok(r, 3);  /* {'ok', s, f, n}: the publishing scripts */
    if (!(routed || script_ok(r, 2)) || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING) {
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
        return;
    }
    json_int_t s = strtoll(r->element[1]->str, NULL, 10);
    if (routed && r->element[3]->type == REDIS_REPLY_STRING)
        c->b->stats.messages_in += strtoull(r->element[3]->str, NULL, 10);  /* routed */
    else
        c->b->stats.messages_in += (uint64_t)s;
    mesh_reply(c, json_pack("{s:I, s:I}", "s", s, "f",
                            (json_int_t)strtoll(r->element[2]->str, NULL, 10)));
}

static void sends_run(struct mesh_call *c, int script, struct mesh_args *a, int nkeys,
                      struct sends *s)
{
    int rv = mesh_redis(c, mesh_reply_counts, script | STORE_ACK, nkeys, a->argc, a->argv, a->lens);
    mesh_args_free(a);
    sends_free(s);
    if (rv < 0)
        mesh_reply_err(c, MESH_E_STORAGE, NULL);
}

/* The script's values that come first: from, ttl ms, max kept. */
static void sends_head(struct mesh_call *c, struct mesh_args *a, char buf[3][ARG_INT_MAX])
{
    const struct broker *b = c->b;
    mesh_args_add_str(a, arg_int(buf[0], c->client ? c->client->client_id : 0));
    mesh_args_add_str(a, arg_int(buf[1], (int64_t)b->conf.offline_ttl * 1000));
    mesh_args_add_str(a, arg_int(buf[2], (int64_t)b->conf.offline_max));
}

static int id_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* mesh_send_many.lua's call for the n devices of to (repeats allowed for
 * send_bulk), each with body s->bodies[i] or, with shared set, that one. */
static void sends_to_devices(struct mesh_call *c, const int64_t *to, size_t n, struct sends *s,
                             int shared)
{
    struct mesh_args a;
    char head[3][ARG_INT_MAX];
    mesh_args_init(&a, 3 + 2 * n + 4 + 2 * n, 2 * n);
    mesh_args_add_str(&a, KEY_NEXT_PUT_ID);
    mesh_args_add_str(&a, KEY_STATS);
    mesh_args_add_str(&a, KEY_KEPT);
    for (size_t i = 0; i < n; i++) {
        mesh_args_add_str(&a, key_dev(a.key[2 * i], to[i]));
        mesh_args_add_str(&a, key_dev_in(a.key[2 * i + 1], to[i]));
    }
    int nkeys = a.argc;
    sends_head(c, &a, head);
    mesh_args_add(&a, shared ? s->bodies[0] : "", shared ? s->lens[0] : 0);
    s->ids = xcalloc(n, sizeof(*s->ids));
    for (size_t i = 0; i < n; i++) {
        mesh_args_add_str(&a, arg_int(s->ids[i], to[i]));
        if (!shared)
            mesh_args_add(&a, s->bodies[i], s->lens[i]);
    }
    sends_run(c, SCRIPT_MESH_SEND_MANY, &a, nkeys, s);
}

void mesh_multicast(struct mesh_call *c)
{
    const json_t *ids = sends_array(c, "c", "c must be an array of 1..1000 client ids");
    if (!ids)
        return;
    size_t n = json_array_size(ids), m = 0;
    int64_t *to = xcalloc(n, sizeof(*to));
    struct sends s = { 0 };
    for (size_t i = 0; i < n; i++)
        if (mesh_id_value(json_array_get(ids, i), &to[i]) < 0) {
            free(to);
            mesh_reply_err(c, MESH_E_PARAMS, "c must be an array of 1..1000 client ids");
            return;
        }
    s.bodies = xcalloc(1, sizeof(*s.bodies));
    s.lens = xcalloc(1, sizeof(*s.lens));
    if (mesh_param_data(c->p, c->b->conf.max_msg_size, &s.bodies[0], &s.lens[0]) < 0) {
        free(to);
        sends_free(&s);
        mesh_reply_err(c, MESH_E_PARAMS, "d must be 1..max-msg-size bytes of data");
        return;
    }
    s.nbodies = 1;
    /* A repeated id counts once and gets one message. */
    qsort(to, n, sizeof(*to), id_cmp);
    for (size_t i = 0; i < n; i++)
        if (m == 0 || to[m - 1] != to[i])
            to[m++] = to[i];
    sends_to_devices(c, to, m, &s, 1);
    free(to);
}

void mesh_send_bulk(struct mesh_call *c)
{
    static const char what[] = "m must be an array of 1..1000 {c, d, t} items";
    const json_t *items = sends_array(c, "m", what);
    if (!items)
        return;
    size_t n = json_array_size(items);
    int64_t *to = xcalloc(n, sizeof(*to));
    struct sends s = { .bodies = xcalloc(n, sizeof(char *)), .lens = xcalloc(n, sizeof(size_t)) };
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(items, i);
        if (!json_is_object(e) || mesh_param_id(e, "c", &to[i]) < 0 ||
            mesh_param_data(e, c->b->conf.max_msg_size, &s.bodies[i], &s.lens[i]) < 0) {
            free(to);
            sends_free(&s);
            mesh_reply_err(c, MESH_E_PARAMS, what);
            return;
        }
        s.nbodies++;
    }
    sends_to_devices(c, to, n, &s, 0);
    free(to);
}

void mesh_publish_bulk(struct mesh_call *c)
{
    static const char what[] =
        "m must be an array of {c, d, t} items, c a channel or an array, 1..1000 channels in all";
    const json_t *items = sends_array(c, "m", what);
    if (!items)
        return;
    size_t n = json_array_size(items);
    struct mesh_chans *ch = xmalloc(sizeof(*ch));
    struct sends s = { .bodies = xcalloc(n, sizeof(char *)), .lens = xcalloc(n, sizeof(size_t)),
                       .ids = xcalloc(n, sizeof(*s.ids)),
                       .names = xcalloc(MESH_ITEMS_MAX, sizeof(char *)) };
    size_t *nch = xcalloc(n, sizeof(*nch));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(items, i);
        if (!json_is_object(e) || mesh_chans_parse(json_object_get(e, "c"), 1, ch) < 0 ||
            s.nnames + ch->n > MESH_ITEMS_MAX ||
            mesh_param_data(e, c->b->conf.max_msg_size, &s.bodies[i], &s.lens[i]) < 0) {
            free(ch);
            free(nch);
            sends_free(&s);
            mesh_reply_err(c, MESH_E_PARAMS, what);
            return;
        }
        s.nbodies++;
        nch[i] = ch->n;
        for (size_t k = 0; k < ch->n; k++)
            s.names[s.nnames++] = xstrdup(ch->name[k]);
    }
    free(ch);
    struct mesh_args a;
    char head[3][ARG_INT_MAX];
    mesh_args_init(&a, 2 + 3 * s.nnames + 3 + 2 * n + s.nnames, 3 * s.nnames);
    mesh_args_add_str(&a, KEY_NEXT_PUT_ID);
    mesh_args_add_str(&a, KEY_STATS);
    for (size_t k = 0; k < s.nnames; k++) {
        mesh_args_add_str(&a, key_chn(a.key[3 * k], s.names[k]));
        mesh_args_add_str(&a, key_chn_subs(a.key[3 * k + 1], s.names[k]));
        mesh_args_add_str(&a, key_chn_brokers(a.key[3 * k + 2], s.names[k]));
    }
    int nkeys = a.argc;
    sends_head(c, &a, head);
    for (size_t i = 0, k = 0; i < n; i++) {
        mesh_args_add(&a, s.bodies[i], s.lens[i]);
        mesh_args_add_str(&a, arg_int(s.ids[i], (int64_t)nch[i]));
        for (size_t j = 0; j < nch[i]; j++)
            mesh_args_add_str(&a, s.names[k++]);
    }
    free(nch);
    sends_run(c, SCRIPT_MESH_PUBLISH_BULK, &a, nkeys, &s);
}
