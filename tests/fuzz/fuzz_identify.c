/* libFuzzer harness: IDENTIFY's JSON body (SPEC 2.2). Whatever the bytes,
 * the parser either refuses them with a reason or returns a request within
 * the SPEC's bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "identify_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct identify_req req;
    const char *why = NULL;
    json_t *o = identify_body_parse((const char *)data, size, &req, &why);
    if (!o) {
        if (!why)
            abort();
        return 0;
    }
    if (req.client_id <= 0 || req.heartbeat < 1 || req.heartbeat > 3600)
        abort();
    if ((req.feature_negotiation & ~1) != 0)
        abort();
    json_decref(o);
    return 0;
}
