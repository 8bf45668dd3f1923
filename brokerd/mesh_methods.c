/* The one dispatch table of the mesh API (SPEC 5.3, 5.4): every method,
 * who may call it, whether HTTP serves it, and its handler (each in a
 * file of its own). WebSocket calls and POST /v1/<method> both look
 * here. */
#include <string.h>

#include "mesh.h"

#define CLIENT MESH_CLIENT
#define SERVICE MESH_SERVICE

static const struct mesh_method mesh_methods[] = {
    /* name          roles             ws_only handler        quiet_without_id */
    { "mesh.send",   CLIENT | SERVICE, 0,      mesh_send,     0 },
    { "mesh.publish", CLIENT | SERVICE, 0,     mesh_publish,  0 },
    { "conn.call",   SERVICE,          0,      mesh_conn_call, 0 },
    { "msg.fin",     CLIENT,           1,      mesh_msg_fin,  1 },
    { "queue.pop",   SERVICE,          1,      mesh_queue_pop, 0 },
    { "queue.unpop", SERVICE,          1,      mesh_queue_unpop, 0 },
    { "gateway.limit", SERVICE,        0,      mesh_gateway_limit, 0 },
};

const struct mesh_method *mesh_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof(mesh_methods) / sizeof(mesh_methods[0]); i++)
        if (strcmp(mesh_methods[i].name, name) == 0)
            return &mesh_methods[i];
    return NULL;
}
