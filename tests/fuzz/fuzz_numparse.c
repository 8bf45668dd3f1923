/* libFuzzer harness: the strict decimal parsers (SPEC 1, 2.6) against a
 * plain reference: digits only, no leading zero, at most INT64_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* -1, or the value of an id written as the SPEC allows. */
static int reference(const uint8_t *s, size_t n, int64_t *out)
{
    if (n == 0 || s[0] == '0')
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = (int64_t)v;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t got = 0, want = 0;
    int rg = parse_id((const char *)data, size, &got);
    int rw = reference(data, size, &want);
    if (rg != rw || (rg == 0 && got != want))
        abort();
    int rz = parse_id_or_zero((const char *)data, size, &got);
    int zero = size == 1 && data[0] == '0';
    if (rz != (zero ? 0 : rw) || (rz == 0 && got != (zero ? 0 : want)))
        abort();
    uint64_t u;
    int ru = parse_uint_range((const char *)data, size, 0, UINT64_MAX, &u);
    if (rw == 0 && (ru != 0 || u != (uint64_t)want))
        abort();
    return 0;
}
