/* The mesh's side of the upstream queue (SPEC 5.3 "Upstream", 5.5
 * "Upstream and events"): queue.pop / queue.unpop, and the hooks the
 * WebSocket transport calls. The queue itself is queue.c. */
#include <string.h>

#include "broker.h"
#include "mesh.h"

#define QUEUE_POP_TOPICS 256     /* topics per queue.pop */

void mesh_upstream(struct session *client, const char *topic, int binary, const char *data,
                   size_t len)
{
    queue_upstream(client->b, client->client_id, topic, binary, data, len);
}

void mesh_service_closed(struct ws_service *s)
{
    queue_svc_gone(ws_service_broker(s), (struct qsvc **)ws_service_queue_slot(s));
}

void mesh_service_wrote(struct ws_service *s)
{
    struct qsvc *q = *ws_service_queue_slot(s);
    if (q)
        queue_svc_taken(ws_service_broker(s), q, ws_service_written(s));
}

static int queue_topic_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == json_string_length(v) &&
           (ws_topic_valid(s) || strcmp(s, QUEUE_CONN_TOPIC) == 0);
}

void mesh_queue_pop(struct mesh_call *c)
{
    const json_t *t = json_object_get(c->p, "t");
    size_t n = json_array_size(t);
    const char *names[QUEUE_POP_TOPICS];
    if (n == 0 || n > QUEUE_POP_TOPICS) {
        mesh_reply_err(c, MESH_E_PARAMS, "t must be an array of 1 to 256 topics");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!queue_topic_ok(json_array_get(t, i))) {
            mesh_reply_err(c, MESH_E_PARAMS, "t must hold topic names");
            return;
        }
        names[i] = json_string_value(json_array_get(t, i));
    }
    int code = queue_pop(c->b, c->svc, (struct qsvc **)ws_service_queue_slot(c->svc), names, n);
    if (code)
        mesh_reply_err(c, code, NULL);
    else
        mesh_reply_ok(c);
}

void mesh_queue_unpop(struct mesh_call *c)
{
    int code = queue_unpop(c->b, (struct qsvc **)ws_service_queue_slot(c->svc));
    if (code)
        mesh_reply_err(c, code, NULL);
    else
        mesh_reply_ok(c);
}
