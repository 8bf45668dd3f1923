/* The upstream queue (SPEC 5.3 "Upstream", queue.pop / queue.unpop).
 * Stubs until it lands: upstream frames are dropped. */
#include "mesh.h"

void mesh_upstream(struct session *client, const char *topic, int binary, const char *data,
                   size_t len)
{
    (void)client; (void)topic; (void)binary; (void)data; (void)len;
}

void mesh_service_closed(struct ws_service *s)
{
    (void)s;
}

void mesh_service_wrote(struct ws_service *s)
{
    (void)s;
}
