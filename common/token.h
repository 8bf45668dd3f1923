/* Device tokens (SPEC 2.7): routerd hands them out, brokerd checks them.
 * A token covers (device id, generation); the generation is the device's
 * field gen of pg:dev:{d} (0 until an administrator revokes its tokens):
 *   generation 0:  hex HMAC-SHA256(secret, "<id>")           (as before)
 *   generation g:  "<g>." hex HMAC-SHA256(secret, "<id>.<g>")
 * so the tokens handed out before revocation existed keep working. */
#ifndef PG_TOKEN_H
#define PG_TOKEN_H
#include <stdint.h>

#define TOKEN_HEX_LEN 64
/* the longest token: "<int64>." and the hex */
#define TOKEN_MAX (19 + 1 + TOKEN_HEX_LEN)

/* gen >= 0. */
void token_make(const char *secret, int64_t device_id, int64_t gen, char out[TOKEN_MAX + 1]);
/* The generation token is for (>= 0) when it is right for device_id, else
 * -1. Constant time in the HMAC part. */
int64_t token_check(const char *secret, int64_t device_id, const char *token);

#endif
