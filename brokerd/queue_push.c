/* The clients' side of the upstream queues: each upstream frame becomes
 * its queue.pop event (the one place that writes it, SPEC 5.3), built
 * once by the client's broker and stored whole, so that a popping broker
 * only writes bytes. A pass's frames of one topic go to Redis in one
 * script (QUEUE_PUSH_MAX at most): a burst costs a round trip per topic
 * and pass, not per frame. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "broker.h"
#include "xmalloc.h"

/* {"e":"queue.pop","p":{"n":N,"c":"C","t":"T","d":{"frame":{"type":..,
 * "data":..,"finish":true}}},"id":null}; NULL if text data is not UTF-8. */
static char *queue_envelope(int64_t broker, int64_t client, const char *topic, int binary,
                            const char *data, size_t len, size_t *outlen)
{
    char cid[ARG_INT_MAX], *b64 = NULL;
    if (binary) {
        b64 = xmalloc((len + 2) / 3 * 4 + 1);
        len = (size_t)EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)data, (int)len);
        data = b64;
    }
    json_t *e = json_pack("{s:s,s:{s:I,s:s,s:s,s:{s:{s:s,s:s%,s:b}}},s:n}", "e", "queue.pop",
                          "p", "n", (json_int_t)broker, "c", arg_int(cid, client), "t", topic,
                          "d", "frame", "type", binary ? "binary" : "text", "data", data, len,
                          "finish", 1, "id");
    free(b64);
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    *outlen = s ? strlen(s) : 0;
    return s;
}

void queue_upstream(struct broker *b, int64_t client, const char *topic, int binary,
                    const char *data, size_t len)
{
    size_t elen;
    char *env = queue_envelope(b->id, client, topic, binary, data, len, &elen);
    if (!env) {
        log_warn("client %lld: an upstream frame for %s could not be encoded", (long long)client,
                 topic);
        return;
    }
    queue_push_env(b, topic, env, elen);
}

void queue_push_env(struct broker *b, const char *topic, char *env, size_t elen)
{
    struct qtopic *t = qtopic_add(b, topic, strlen(topic));
    if (!t) {
        log_warn("an event for %s could not be queued", topic);
        free(env);
        return;
    }
    if (t->nenvs == t->capenvs) {
        t->capenvs = t->capenvs ? 2 * t->capenvs : 16;
        t->envs = xreallocarray(t->envs, t->capenvs, sizeof(*t->envs));
        t->lens = xreallocarray(t->lens, t->capenvs, sizeof(*t->lens));
    }
    t->envs[t->nenvs] = env;
    t->lens[t->nenvs++] = elen;
    if (!t->pushing) {
        t->pushing = 1;
        if (b->q.npush == b->q.cappush) {
            b->q.cappush = b->q.cappush ? 2 * b->q.cappush : 16;
            b->q.push = xreallocarray(b->q.push, b->q.cappush, sizeof(*b->q.push));
        }
        b->q.push[b->q.npush++] = t;
        event_active(b->q.ev, EV_TIMEOUT, 1);
    }
}

/* One script for envs [from, to) of t. Redis away: the frames are dropped
 * (the client had no promise yet; logged). */
static void queue_push_some(struct broker *b, struct qtopic *t, uint32_t from, uint32_t to)
{
    char q[KEY_TOPIC_MAX], bk[KEY_TOPIC_MAX], ttl[ARG_INT_MAX], max[ARG_INT_MAX];
    const char *argv[4 + 3 + QUEUE_PUSH_MAX];
    size_t argvlen[4 + 3 + QUEUE_PUSH_MAX];
    int argc = 0;
    argv[argc++] = key_q(q, t->name);
    argv[argc++] = key_q_bk(bk, t->name);
    argv[argc++] = t->name;
    argv[argc++] = arg_int(ttl, (int64_t)b->conf.offline_ttl * 1000);
    argv[argc++] = arg_int(max, (int64_t)b->conf.offline_max);
    for (int i = 0; i < argc; i++)
        argvlen[i] = strlen(argv[i]);
    for (uint32_t i = from; i < to; i++) {
        argv[argc] = t->envs[i];
        argvlen[argc++] = t->lens[i];
    }
    if (rconn_script(&b->store.cmd, SCRIPT_QPUSH, NULL, NULL, 2, argc, argv, argvlen) < 0)
        log_warn("redis unavailable: %u upstream frames for %s dropped", to - from, t->name);
}

void queue_push_flush(struct broker *b)
{
    for (uint32_t i = 0; i < b->q.npush; i++) {
        struct qtopic *t = b->q.push[i];
        for (uint32_t k = 0; k < t->nenvs; k += QUEUE_PUSH_MAX)
            queue_push_some(b, t, k, t->nenvs - k > QUEUE_PUSH_MAX ? k + QUEUE_PUSH_MAX : t->nenvs);
        for (uint32_t k = 0; k < t->nenvs; k++)
            free(t->envs[k]);
        t->nenvs = 0;
        t->pushing = 0;
        qtopic_release(b, t);
    }
    b->q.npush = 0;
}
