/* Device tokens (SPEC 2.7): lowercase hex of
 * HMAC-SHA256(key = secret, message = the device id in decimal). */
#include "token.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A NULL secret is the empty key, so a caller mistake cannot crash. */
void token_make(const char *secret, int64_t device_id, char out[TOKEN_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[SHA256_LEN];
    char msg[24];
    int n = snprintf(msg, sizeof(msg), "%" PRId64, device_id);

    if (secret == NULL)
        secret = "";
    hmac_sha256(secret, strlen(secret), msg, n > 0 ? (size_t)n : 0, mac);
    for (size_t i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0x0f];
    }
    out[TOKEN_HEX_LEN] = '\0';
}

/* The length is not secret, so a wrong one is refused at once; a token of
 * the right length is compared in constant time. Uppercase hex is wrong:
 * tokens are handed out in lowercase and compared as strings. */
int token_check(const char *secret, int64_t device_id, const char *token)
{
    char want[TOKEN_HEX_LEN + 1];
    int ok;

    if (token == NULL || strnlen(token, TOKEN_HEX_LEN + 1) != TOKEN_HEX_LEN)
        return 0;
    token_make(secret, device_id, want);
    ok = ct_memcmp(want, token, TOKEN_HEX_LEN) == 0;
    memset(want, 0, sizeof(want));
    return ok;
}
