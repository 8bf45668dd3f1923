/* Device tokens (SPEC 2.7): hex HMAC-SHA256(secret, decimal device id).
 * routerd hands them out, brokerd checks them. */
#ifndef PG_TOKEN_H
#define PG_TOKEN_H
#include <stdint.h>

#define TOKEN_HEX_LEN 64

void token_make(const char *secret, int64_t device_id, char out[TOKEN_HEX_LEN + 1]);
/* 1 if token is right for device_id, else 0. Constant time in the token. */
int token_check(const char *secret, int64_t device_id, const char *token);

#endif
