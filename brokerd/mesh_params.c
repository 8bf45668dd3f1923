/* A call's parameters (SPEC 5.2, 5.5): ids as decimal strings or JSON
 * integers, and a send's data (text, or base64 decoded by libcrypto).
 * Apart from the calls, so that a fuzzer reaches them alone. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mesh.h"
#include "numparse.h"
#include "xmalloc.h"

int mesh_param_id(const json_t *p, const char *key, int64_t *out)
{
    return mesh_id_value(json_object_get(p, key), out);
}

int mesh_id_value(const json_t *v, int64_t *out)
{
    if (json_is_string(v))
        return parse_id(json_string_value(v), json_string_length(v), out);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    return -1;
}

int mesh_param_ids(const json_t *p, const char *key, int64_t **ids, size_t *n)
{
    const json_t *a = json_object_get(p, key);
    size_t len = json_array_size(a);
    if (!json_is_array(a) || len == 0 || len > MESH_ITEMS_MAX)
        return -1;
    int64_t *out = xcalloc(len, sizeof(*out));
    size_t got = 0;
    for (size_t i = 0; i < len; i++) {
        const json_t *e = json_array_get(a, i);
        int64_t id;
        if (json_is_string(e) ? parse_id(json_string_value(e), json_string_length(e), &id) < 0
                              : !(json_is_integer(e) && (id = json_integer_value(e)) > 0)) {
            free(out);
            return -1;
        }
        size_t k = 0;  /* at most MESH_ITEMS_MAX^2 / 2 compares */
        while (k < got && out[k] != id)
            k++;
        if (k == got)
            out[got++] = id;
    }
    *ids = out;
    *n = got;
    return 0;
}

/* Strict base64 (RFC 4648, padded): the decoded length, or -1. */
static long base64_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 != 0 || len > (size_t)1 << 30)
        return -1;
    if (len == 0)
        return 0;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    int pad = (in[len - 1] == '=') + (in[len - 2] == '=');
    return n - pad;
}

int mesh_param_data(const json_t *p, size_t max, char **data, size_t *len)
{
    const json_t *d = json_object_get(p, "d"), *t = json_object_get(p, "t");
    int binary = 0;
    if (t && (!json_is_string(t) ||
              (strcmp(json_string_value(t), "text") != 0 &&
               !(binary = strcmp(json_string_value(t), "binary") == 0))))
        return -1;
    if (!json_is_string(d))
        return -1;
    const char *s = json_string_value(d);
    size_t n = json_string_length(d);
    if (!binary) {
        if (n == 0 || n > max)
            return -1;
        *data = xmalloc(n);
        memcpy(*data, s, n);
        *len = n;
        return 0;
    }
    unsigned char *out = xmalloc(n / 4 * 3 + 3);
    long got = base64_decode(s, n, out);
    if (got <= 0 || (size_t)got > max) {
        free(out);
        return -1;
    }
    *data = (char *)out;
    *len = (size_t)got;
    return 0;
}
