/* --admin-token: "Authorization: Bearer <token>", compared in constant
 * time, never logged. */
#include <string.h>

#include <event2/http.h>

#include "admin.h"
#include "sha256.h"

int auth_check(struct admin *a, struct evhttp_request *req)
{
    const char *want = a->conf.admin_token;
    if (!want || !*want)
        return 1;
    const char *got = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    static const char prefix[] = "Bearer ";
    /* Compare digests: equal length, so the time does not depend on where
     * the token differs, nor on its length. */
    unsigned char dw[SHA256_LEN], dg[SHA256_LEN];
    int shaped = got && strncmp(got, prefix, sizeof(prefix) - 1) == 0;
    const char *tok = shaped ? got + sizeof(prefix) - 1 : "";
    hmac_sha256("pushgate-admin", 14, want, strlen(want), dw);
    hmac_sha256("pushgate-admin", 14, tok, strlen(tok), dg);
    return shaped && ct_memcmp(dw, dg, SHA256_LEN) == 0;
}

int auth_ok(struct admin *a, struct evhttp_request *req)
{
    if (auth_check(a, req))
        return 1;
    reply_error(req, 401, "unauthorized");
    return 0;
}
