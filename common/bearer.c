#include "bearer.h"

#include <string.h>

#include <event2/http.h>

#include "digest.h"

int secret_equal(const char *got, const char *want)
{
    /* Compare digests: equal length, so the time does not depend on where
     * the token differs, nor on its length. */
    unsigned char dw[DIGEST_LEN], dg[DIGEST_LEN];
    digest_hmac("pushgate-bearer", 15, want, strlen(want), dw);
    digest_hmac("pushgate-bearer", 15, got, strlen(got), dg);
    return digest_equal_ct(dw, dg, DIGEST_LEN) == 0;
}

int bearer_header_ok(const char *got, const char *want)
{
    if (!want || !*want)
        return 1;
    static const char prefix[] = "Bearer ";
    int shaped = got && strncmp(got, prefix, sizeof(prefix) - 1) == 0;
    return secret_equal(shaped ? got + sizeof(prefix) - 1 : "", want) && shaped;
}

int bearer_ok(struct evhttp_request *req, const char *want)
{
    if (!want || !*want)
        return 1;
    return bearer_header_ok(
        evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"), want);
}
