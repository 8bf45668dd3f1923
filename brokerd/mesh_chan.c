/* mesh.publish and conn.call subscribe/unsubscribe (mesh_chan.h). */
#include <string.h>

#include "broker.h"
#include "chan.h"
#include "mesh_chan.h"

int mesh_chans_parse(const json_t *v, int one_ok, struct mesh_chans *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    out->n = 0;
    if ((!json_is_array(v) && !(one_ok && json_is_string(v))) || n == 0 ||
        n > MESH_CHANNELS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        const char *s = json_string_value(e);
        size_t len = s ? json_string_length(e) : 0;
        if (!s || !chan_name_valid(s, len) || chan_name_reserved(s, len))
            return -1;
        size_t k = 0;  /* at most MESH_CHANNELS_MAX^2 / 2 short compares */
        while (k < out->n && strcmp(out->name[k], s) != 0)
            k++;
        if (k == out->n)
            out->name[out->n++] = s;
    }
    return 0;
}
