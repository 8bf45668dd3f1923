/* SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto: device tokens
 * (token.c), admin bearer tokens (bearer.c), device keys (routerd). */
#ifndef PG_DIGEST_H
#define PG_DIGEST_H
#include <stddef.h>

#define DIGEST_LEN 32                /* SHA-256 */
#define DIGEST_HEX_LEN (2 * DIGEST_LEN)

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN]);
/* A NULL key is the empty key. */
void digest_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 unsigned char out[DIGEST_LEN]);
/* Lowercase hex of a digest, NUL-terminated. */
void digest_hex(const unsigned char d[DIGEST_LEN], char out[DIGEST_HEX_LEN + 1]);
/* Compares n bytes in time independent of their contents: 0 if equal. */
int digest_equal_ct(const void *a, const void *b, size_t n);

#endif
