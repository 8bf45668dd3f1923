/* libFuzzer harness: POST /api bodies (SPEC 4). Whatever the bytes, the
 * parser answers with one of the SPEC's statuses, and a request it lets
 * run has every field its type needs. */
#include <stdint.h>
#include <stdlib.h>

#include "api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_parsed p;
    api_parse((const char *)data, size, MAX_MSG, &p);
    switch (p.status) {
    case 200:
        if (!p.reply.name || p.type == API_PUSH)
            abort();
        if (p.type != API_STAT && p.saddr <= 0)
            abort();
        if (p.type == API_SEND &&
            (p.daddr <= 0 || p.id <= 0 || !p.payload || p.payload_len == 0 ||
             p.payload_len > MAX_MSG))
            abort();
        if (p.type == API_FREE && p.id <= 0)
            abort();
        break;
    case 400:
        break;
    case 413:
        if (p.type != API_SEND || p.payload_len <= MAX_MSG)
            abort();
        break;
    case 501:
        if (p.type != API_PUSH)
            abort();
        break;
    default:
        abort();
    }
    json_decref(p.doc);
    return 0;
}
