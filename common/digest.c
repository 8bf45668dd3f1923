/* digest.h over libcrypto's one-shot calls. */
#include "digest.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN])
{
    /* Fails only without memory or a SHA-256 implementation. */
    if (EVP_Digest(len ? data : "", len, out, NULL, EVP_sha256(), NULL) != 1)
        abort();
}

void digest_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                 unsigned char out[DIGEST_LEN])
{
    unsigned int n = DIGEST_LEN;
    /* libcrypto reads a NULL key as "keep the last one": never pass it. */
    if (!HMAC(EVP_sha256(), key_len ? key : "", (int)key_len,
              msg_len ? msg : (const void *)"", msg_len, out, &n) || n != DIGEST_LEN)
        abort();
}

void digest_hex(const unsigned char d[DIGEST_LEN], char out[DIGEST_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < DIGEST_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0x0f];
    }
    out[DIGEST_HEX_LEN] = '\0';
}

int digest_equal_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n);
}
