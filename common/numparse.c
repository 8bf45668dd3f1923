/* Strict decimal parsing (SPEC 1, 2.6). One scanner for all three entry
 * points: digits only, "0" alone or [1-9][0-9]*, overflow detected while
 * scanning so a value is never truncated or wrapped. */
#include "numparse.h"

/* Parses s[0..len) as a plain decimal uint64_t. Returns 0 and stores *out,
 * or -1 on anything malformed or above UINT64_MAX. */
static int scan_decimal(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || len == 0)
        return -1;
    if (s[0] == '0') {
        if (len != 1)
            return -1;  /* leading zero */
        *out = 0;
        return 0;
    }
    /* Up to 19 digits cannot overflow: no check in that loop (a division
     * per digit, then a check per digit, were this parser's whole cost). */
    size_t safe = len < 19 ? len : 19, i;
    for (i = 0; i < safe; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9 || __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
            return -1;  /* not a digit, or would overflow */
    }
    *out = v;
    return 0;
}

int parse_uint_range(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (scan_decimal(s, len, &v) != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_id_or_zero(const char *s, size_t len, int64_t *out)
{
    uint64_t v;

    if (parse_uint_range(s, len, 0, INT64_MAX, &v) != 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int parse_id(const char *s, size_t len, int64_t *out)
{
    uint64_t v;

    if (parse_uint_range(s, len, 1, INT64_MAX, &v) != 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}
