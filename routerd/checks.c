/* The parameters of /registration and /put (SPEC 3), checked in the SPEC's
 * order apart from HTTP and Redis, so that a fuzzer reaches them alone. */
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "keys.h"
#include "router.h"

#define NAME_MAX_BYTES 128
#define DEVICE_KEY_MIN 16
#define DEVICE_KEY_MAX 128
#define TTL_DEFAULT 604800
#define TTL_MAX 2592000

/* min..max bytes of printable ASCII. */
static int printable_ok(const char *s, size_t min, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* Up to NAME_MAX_BYTES of UTF-8. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > NAME_MAX_BYTES)
        return 0;
    json_t *j = json_stringn(s, n);  /* jansson checks UTF-8 */
    json_decref(j);
    return j != NULL;
}

enum router_code reg_check(struct evkeyvalq *kv, struct reg_args *a)
{
    a->serial = evhttp_find_header(kv, "serial_no");
    a->name = evhttp_find_header(kv, "device_name");
    a->key = evhttp_find_header(kv, "device_key");
    if (!printable_ok(a->serial, 1, SERIAL_MAX))
        return RC_SERIAL_NO;
    if (params_uint(kv, "device_type", 1, 6, &a->type) < 0)
        return RC_DEVICE_TYPE;
    if ((a->name && !name_ok(a->name)) ||
        (a->key && !printable_ok(a->key, DEVICE_KEY_MIN, DEVICE_KEY_MAX)))
        return RC_PARAM;
    return RC_OK;
}

enum router_code put_check(struct evkeyvalq *kv, struct put_args *a)
{
    if (params_id(kv, "channel_id", &a->channel) < 0)
        return RC_CHANNEL_ID;
    a->type = 0;
    if (params_uint(kv, "device_type", 0, 6, &a->type) == -2)
        return RC_DEVICE_TYPE;
    a->device = 0;
    if (params_id(kv, "device_id", &a->device) == -2)
        return RC_PARAM;
    a->ttl = TTL_DEFAULT;
    if (params_uint(kv, "ttl", 1, TTL_MAX, &a->ttl) == -2)
        return RC_PARAM;
    return RC_OK;
}
