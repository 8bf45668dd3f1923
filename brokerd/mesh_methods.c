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
    { "mesh.broadcast", SERVICE,       0,      mesh_broadcast, 0 },
    { "mesh.multicast", SERVICE,       0,      mesh_multicast, 0 },
    { "mesh.send_bulk", SERVICE,       0,      mesh_send_bulk, 0 },
    { "mesh.publish_bulk", SERVICE,    0,      mesh_publish_bulk, 0 },
    { "conn.count",  SERVICE,          0,      mesh_conn_count, 0 },
    { "topic.count", SERVICE,          0,      mesh_topic_count, 0 },
    { "conn.list",   SERVICE,          0,      mesh_conn_list, 0 },
    { "topic.list",  SERVICE,          0,      mesh_topic_list, 0 },
    { "conn.online", SERVICE,          0,      mesh_conn_online, 0 },
    { "conn.info",   SERVICE,          0,      mesh_conn_info, 0 },
    { "topic.members", SERVICE,        0,      mesh_topic_members, 0 },
    { "topic.member_count", SERVICE,   0,      mesh_topic_member_count, 0 },
    { "conn.token",  SERVICE,          0,      mesh_conn_token, 0 },
    { "conn.offline", SERVICE,         0,      mesh_conn_offline, 0 },
    { "conn.offline_guests", SERVICE,  0,      mesh_conn_offline_guests, 0 },
    { "conn.info_delete", SERVICE,     0,      mesh_conn_info_delete, 0 },
    { "topic.delete", SERVICE,         0,      mesh_topic_delete, 0 },
    { "gateway.metrics", SERVICE,      0,      mesh_gateway_metrics, 0 },
    { "gateway.limit", SERVICE,        0,      mesh_gateway_limit, 0 },
};

const struct mesh_method *mesh_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof(mesh_methods) / sizeof(mesh_methods[0]); i++)
        if (strcmp(mesh_methods[i].name, name) == 0)
            return &mesh_methods[i];
    return NULL;
}
