/* libFuzzer harness: a call's parameters (SPEC 5.2, 5.5). Whatever JSON
 * comes, an id is refused or positive, and a send's data is refused or
 * 1..max bytes (base64 decoded when "t" is "binary"). */
#include <stdint.h>
#include <stdlib.h>

#include "mesh.h"

#define MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *p = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!p)
        return 0;
    int64_t id = 0;
    if (mesh_param_id(p, "c", &id) == 0 && id <= 0)
        abort();
    char *d = NULL;
    size_t len = 0;
    if (mesh_param_data(p, MAX, &d, &len) == 0) {
        if (len == 0 || len > MAX)
            abort();
        free(d);
    }
    json_decref(p);
    return 0;
}
