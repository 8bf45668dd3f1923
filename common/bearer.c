#include "bearer.h"

#include <string.h>

#include <event2/http.h>

#include "digest.h"

int bearer_ok(struct evhttp_request *req, const char *want)
{
    if (!want || !*want)
        return 1;
    const char *got = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    static const char prefix[] = "Bearer ";
    /* Compare digests: equal length, so the time does not depend on where
     * the token differs, nor on its length. */
    unsigned char dw[DIGEST_LEN], dg[DIGEST_LEN];
    int shaped = got && strncmp(got, prefix, sizeof(prefix) - 1) == 0;
    const char *tok = shaped ? got + sizeof(prefix) - 1 : "";
    digest_hmac("pushgate-bearer", 15, want, strlen(want), dw);
    digest_hmac("pushgate-bearer", 15, tok, strlen(tok), dg);
    return shaped && digest_equal_ct(dw, dg, DIGEST_LEN) == 0;
}
