/* Device tokens (SPEC 2.7), token.h says the format. */
#include "token.h"
#include "numparse.h"
#include "digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Lowercase hex of HMAC-SHA256(secret, msg); a NULL secret is the empty
 * key, so a caller mistake cannot crash. */
static void token_hex(const char *secret, const char *msg, size_t len,
                      char out[TOKEN_HEX_LEN + 1])
{
    unsigned char mac[DIGEST_LEN];

    if (secret == NULL)
        secret = "";
    digest_hmac(secret, strlen(secret), msg, len, mac);
    digest_hex(mac, out);
}

/* The HMAC's message: "<id>", or "<id>.<gen>" past generation 0. */
static size_t token_msg(int64_t device_id, int64_t gen, char msg[48])
{
    int n = gen > 0 ? snprintf(msg, 48, "%" PRId64 ".%" PRId64, device_id, gen)
                    : snprintf(msg, 48, "%" PRId64, device_id);
    return n > 0 ? (size_t)n : 0;
}

void token_make(const char *secret, int64_t device_id, int64_t gen, char out[TOKEN_MAX + 1])
{
    char msg[48];
    size_t len = token_msg(device_id, gen, msg);
    int n = gen > 0 ? snprintf(out, TOKEN_MAX + 1, "%" PRId64 ".", gen) : 0;
    token_hex(secret, msg, len, out + (n > 0 ? n : 0));
}

/* The length and the generation are not secret, so a malformed token is
 * refused at once; the HMAC is compared in constant time. Uppercase hex is
 * wrong: tokens are handed out in lowercase and compared as strings. */
int64_t token_check(const char *secret, int64_t device_id, const char *token)
{
    char want[TOKEN_HEX_LEN + 1], msg[48];
    int64_t gen = 0;

    size_t n = token ? strnlen(token, TOKEN_MAX + 1) : TOKEN_MAX + 1;
    if (n > TOKEN_MAX)
        return -1;
    const char *dot = memchr(token, '.', n);
    if (dot) {
        if (parse_id(token, (size_t)(dot - token), &gen) < 0)
            return -1;  /* generation 0 is written without a prefix */
        n -= (size_t)(dot + 1 - token);
        token = dot + 1;
    }
    if (n != TOKEN_HEX_LEN)
        return -1;
    token_hex(secret, msg, token_msg(device_id, gen, msg), want);
    int ok = digest_equal_ct(want, token, TOKEN_HEX_LEN) == 0;
    memset(want, 0, sizeof(want));
    return ok ? gen : -1;
}
