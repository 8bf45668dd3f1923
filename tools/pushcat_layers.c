#include "pushcat_layers.h"

#include <stdio.h>

#include <jansson.h>

int pushcat_ask_layers(char *json, int n, size_t cap, int tls, int level)
{
    if (tls && n >= 0 && (size_t)n < cap)
        n += snprintf(json + n, cap - (size_t)n, ",\"tls_v1\":true");
    if (level && n >= 0 && (size_t)n < cap)
        n += snprintf(json + n, cap - (size_t)n, ",\"deflate\":true,\"deflate_level\":%d", level);
    return n;
}

int pushcat_granted(const char *reply, int *tls, int *level)
{
    json_t *o = json_loads(reply, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    *tls = json_is_true(json_object_get(o, "tls_v1"));
    *level = json_is_true(json_object_get(o, "deflate"))
                 ? (int)json_integer_value(json_object_get(o, "deflate_level")) : 0;
    json_decref(o);
    return 0;
}
