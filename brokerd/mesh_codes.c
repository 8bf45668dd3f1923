/* The mesh codes' texts (SPEC 5.2): the one table of them. */
#include <stddef.h>

#include "mesh.h"

static const struct {
    int code;
    const char *text;
} mesh_codes[] = {
    { MESH_E_PARAMS, "invalid parameters" },
    { MESH_E_METHOD, "unknown method" },
    { MESH_E_CONSUME, "consume failed" },
    { MESH_E_CONSUMING, "already consuming" },
    { MESH_E_UNPOP, "unpop failed" },
    { MESH_E_CALL, "call failed" },
    { MESH_E_SEND, "send failed" },
    { MESH_E_ROLE, "not allowed for this role" },
    { MESH_E_RATE, "over a rate limit" },
    { MESH_E_STORAGE, "storage unavailable" },
};

const char *mesh_code_text(int code)
{
    for (size_t i = 0; i < sizeof(mesh_codes) / sizeof(mesh_codes[0]); i++)
        if (mesh_codes[i].code == code)
            return mesh_codes[i].text;
    return "error";
}
