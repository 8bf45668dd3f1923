/* digest.h over libcrypto (FIPS 180-4, RFC 4231 vectors) and device tokens
 * (SPEC 2.7). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "token.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void expect_sha(const void *msg, size_t len, const char *want)
{
    unsigned char d[DIGEST_LEN];
    char hex[DIGEST_HEX_LEN + 1];

    digest_sha256(msg, len, d);
    digest_hex(d, hex);
    cr_assert_str_eq(hex, want, "sha256 of %zu bytes", len);
}

static void expect_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
                        const char *want)
{
    unsigned char d[DIGEST_LEN];
    char hex[DIGEST_HEX_LEN + 1];

    digest_hmac(key, klen, msg, mlen, d);
    digest_hex(d, hex);
    cr_assert_str_eq(hex, want);
}

/* ---- SHA-256 (libcrypto's): FIPS 180-4 examples through the wrapper ---- */

Test(sha256, empty)
{
    expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_sha(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, abc)
{
    expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- HMAC-SHA256: RFC 4231 ---- */

Test(hmac, rfc4231_case_1)
{
    unsigned char key[20];
    memset(key, 0x0b, sizeof(key));
    expect_hmac(key, sizeof(key), "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

Test(hmac, rfc4231_case_2)
{
    const char *m = "what do ya want for nothing?";
    expect_hmac("Jefe", 4, m, strlen(m),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(hmac, rfc4231_case_3)
{
    unsigned char key[20], msg[50];
    memset(key, 0xaa, sizeof(key));
    memset(msg, 0xdd, sizeof(msg));
    expect_hmac(key, sizeof(key), msg, sizeof(msg),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

Test(hmac, rfc4231_cases_6_and_7_long_key)
{
    unsigned char key[131];
    memset(key, 0xaa, sizeof(key));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    expect_hmac(key, sizeof(key), m6, strlen(m6),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger "
                     "than block-size data. The key needs to be hashed before being "
                     "used by the HMAC algorithm.";
    expect_hmac(key, sizeof(key), m7, strlen(m7),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

Test(hmac, key_of_block_size_and_one_more)
{
    char key[65];
    memset(key, 'k', sizeof(key));
    expect_hmac(key, 64, "m", 1, "3b7a8d453e76edb519238a515105a57508d0f169f480ebeee120a9e7803289fa");
    expect_hmac(key, 65, "m", 1, "c2d7d4c2256ddb097409ec0c67e1d58fa1a007fc6932cac0d892a525d08af7cc");
}

Test(hmac, empty_key_and_message)
{
    expect_hmac("", 0, "", 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    expect_hmac(NULL, 0, NULL, 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

Test(digest_equal_ct, equal_and_different)
{
    cr_assert_eq(digest_equal_ct("abcd", "abcd", 4), 0);
    cr_assert_eq(digest_equal_ct("abcd", "xyz", 0), 0);
    cr_assert_neq(digest_equal_ct("abcd", "xbcd", 4), 0);
    cr_assert_neq(digest_equal_ct("abcd", "abcx", 4), 0);
    cr_assert_neq(digest_equal_ct("\x00", "\x80", 1), 0);
    cr_assert_eq(digest_equal_ct("abcd", "abcx", 3), 0);
}

/* ---- tokens ---- */

#define TOK_SECRET_42 "93c121e7aa437a1e01e3c512c6f0ce3c821a839025dca4408f85616de4aaee70"

Test(token, make_known_values)
{
    char t[TOKEN_MAX + 1];

    token_make("secret", 42, 0, t);
    cr_assert_str_eq(t, TOK_SECRET_42);
    token_make("s3cr3t key", INT64_MAX, 0, t);
    cr_assert_str_eq(t, "8c39d2028d06ffb2edefdebd2b041aaf89749a8f3e3ecc9762df46b1f4a44e83");
    token_make("", 1, 0, t);
    cr_assert_str_eq(t, "41e0a9448f91edba4b05c6c2fc0edb1d6418aa292b5b2942637bec43a29b9523");
    token_make(NULL, 1, 0, t);  /* NULL secret is the empty key */
    cr_assert_str_eq(t, "41e0a9448f91edba4b05c6c2fc0edb1d6418aa292b5b2942637bec43a29b9523");
}

Test(token, make_is_lowercase_hex)
{
    char t[TOKEN_MAX + 1];
    for (int64_t id = 1; id < 200; id++) {
        token_make("k", id, 0, t);
        cr_assert_eq(strlen(t), TOKEN_HEX_LEN);
        cr_assert_eq(strspn(t, "0123456789abcdef"), TOKEN_HEX_LEN, "token %s", t);
    }
}

Test(token, check_accepts_right_token)
{
    cr_assert_eq(token_check("secret", 42, TOK_SECRET_42), 0);
}

Test(token, check_rejects_wrong_id_or_secret)
{
    cr_assert_eq(token_check("secret", 43, TOK_SECRET_42), -1);
    cr_assert_eq(token_check("secret", 420, TOK_SECRET_42), -1);
    cr_assert_eq(token_check("Secret", 42, TOK_SECRET_42), -1);
    cr_assert_eq(token_check("", 42, TOK_SECRET_42), -1);
}

Test(token, check_rejects_wrong_length)
{
    char t[TOKEN_HEX_LEN + 2];

    cr_assert_eq(token_check("secret", 42, ""), -1);
    cr_assert_eq(token_check("secret", 42, NULL), -1);
    memcpy(t, TOK_SECRET_42, TOKEN_HEX_LEN - 1);
    t[TOKEN_HEX_LEN - 1] = '\0';
    cr_assert_eq(token_check("secret", 42, t), -1, "63 chars");
    memcpy(t, TOK_SECRET_42, TOKEN_HEX_LEN);
    t[TOKEN_HEX_LEN] = '0';
    t[TOKEN_HEX_LEN + 1] = '\0';
    cr_assert_eq(token_check("secret", 42, t), -1, "65 chars");
    t[TOKEN_HEX_LEN] = '\n';
    cr_assert_eq(token_check("secret", 42, t), -1, "trailing newline");
}

Test(token, check_rejects_uppercase)
{
    char t[TOKEN_HEX_LEN + 1] = TOK_SECRET_42;
    for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
        if (t[i] >= 'a' && t[i] <= 'f')
            t[i] = (char)(t[i] - 'a' + 'A');
    cr_assert_eq(token_check("secret", 42, t), -1);
}

Test(token, check_rejects_any_one_changed_char)
{
    char t[TOKEN_HEX_LEN + 1];
    for (size_t i = 0; i < TOKEN_HEX_LEN; i++) {
        memcpy(t, TOK_SECRET_42, sizeof(t));
        t[i] = t[i] == '0' ? '1' : '0';
        cr_assert_eq(token_check("secret", 42, t), -1, "char %zu changed", i);
    }
}

/* Past generation 0 the token names its generation ("<gen>." and the HMAC
 * of "<id>.<gen>"); generation 0 is the token of before. */
#define HMAC_42_GEN2 "6aefa96e4f846faac3cf368a1bfc56e2c0c171733e5722871fd200764d64cf0b"
#define TOK_SECRET_42_GEN2 "2." HMAC_42_GEN2

Test(token, generation_known_value)
{
    char t[TOKEN_MAX + 1];
    token_make("secret", 42, 2, t);
    cr_assert_str_eq(t, TOK_SECRET_42_GEN2);
    token_make("secret", 42, INT64_MAX, t);
    cr_assert_eq(strlen(t), TOKEN_MAX);
    cr_assert_eq(token_check("secret", 42, t), INT64_MAX);
}

Test(token, check_returns_the_generation)
{
    cr_assert_eq(token_check("secret", 42, TOK_SECRET_42), 0);
    cr_assert_eq(token_check("secret", 42, TOK_SECRET_42_GEN2), 2);
}

Test(token, check_rejects_a_wrong_generation_prefix)
{
    static const char *const bad[] = {
        "3." HMAC_42_GEN2,   /* another generation's prefix */
        "0." HMAC_42_GEN2,   /* generation 0 has no prefix */
        "02." HMAC_42_GEN2, "-2." HMAC_42_GEN2, "." HMAC_42_GEN2, "2.." HMAC_42_GEN2,
        "x." HMAC_42_GEN2, "2." TOK_SECRET_42, "99999999999999999999." HMAC_42_GEN2,
        HMAC_42_GEN2,        /* without its prefix */
    };
    for (size_t i = 0; i < NELEMS(bad); i++)
        cr_assert_eq(token_check("secret", 42, bad[i]), -1, "%s", bad[i]);
    cr_assert_eq(token_check("secret", 43, TOK_SECRET_42_GEN2), -1);
}
