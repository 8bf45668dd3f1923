/* SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), for device tokens. */
#ifndef PG_SHA256_H
#define PG_SHA256_H
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
    uint32_t h[8];
    uint64_t total;
    unsigned char buf[64];
    size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 unsigned char out[SHA256_LEN]);
/* Compares n bytes in time independent of their contents: 0 if equal. */
int ct_memcmp(const void *a, const void *b, size_t n);

#endif
