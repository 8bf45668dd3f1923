/* msg.fin (SPEC 5.2, 5.5 "msg.fin"): a client finishes a message, as
 * FIN does over TCP. */
#include "broker.h"
#include "mesh.h"

void mesh_msg_fin(struct mesh_call *c)
{
    int64_t mid;
    if (mesh_param_id(c->p, "i", &mid) < 0) {
        mesh_reply_err(c, MESH_E_PARAMS, "i must be a message id");
        return;
    }
    if (c->client->state == CS_DEAD || fin_message(c->client, mid) < 0) {
        mesh_reply_err(c, MESH_E_CALL, "no such unfinished message");
        return;
    }
    mesh_reply_ok(c);
}
