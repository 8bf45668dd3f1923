/* libFuzzer harness: /registration's and /put's parameters (SPEC 3), as
 * routerd reads a query string or form body and checks it. A request that
 * passes has every value within the SPEC's bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "keys.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_registration(struct evkeyvalq *kv)
{
    struct reg_args a;
    if (reg_check(kv, &a) != RC_OK)
        return;
    size_t n = strlen(a.serial);
    if (n < 1 || n > SERIAL_MAX || a.type < 1 || a.type > 6)
        abort();
    if (a.key && (strlen(a.key) < 16 || strlen(a.key) > 128))
        abort();
}

static void check_put(struct evkeyvalq *kv)
{
    struct put_args a;
    if (put_check(kv, &a) != RC_OK)
        return;
    if (a.channel <= 0 || a.device < 0 || a.type > 6 || a.ttl < 1 || a.ttl > 2592000)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    memcpy(query, data, size);
    query[size] = '\0';
    struct evkeyvalq kv;
    if (evhttp_parse_query_str(query, &kv) == 0) {
        check_registration(&kv);
        check_put(&kv);
    }
    evhttp_clear_headers(&kv);
    free(query);
    return 0;
}
