/* numparse: strict decimal ids and plain numbers (SPEC 1, 2.6). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "numparse.h"

/* A byte string with an explicit length: may hold NULs, need not end. */
struct bytes {
    const char *s;
    size_t len;
};
#define B(lit) { (lit), sizeof(lit) - 1 }
#define NBYTES(a) (sizeof(a) / sizeof((a)[0]))

/* Malformed for every parser, "0" or not. */
static const struct bytes malformed[] = {
    B(""),                      /* empty */
    B("-1"), B("+1"), B("-0"), B("+0"), B("--1"),   /* sign */
    B("00"), B("01"), B("007"), B("0000000000000000001"), /* leading zero */
    B(" 1"), B("1 "), B("1 2"), B("\t1"), B("1\n"), B("1\r"), B(" "), /* spaces */
    B("0x1"), B("0X1F"), B("x1"), B("1f"), B("ff"),  /* hex */
    B("1a"), B("a1"), B("1.0"), B("1e3"), B("1,000"), B("1_000"), B("abc"), /* non-digit */
    B("1\0"), B("\0" "1"), B("\xd9\xa1"),           /* NUL byte, Arabic-Indic one */
    B("18446744073709551616"), B("99999999999999999999999"), /* above UINT64_MAX */
    B("184467440737095516150"),
};

Test(numparse, id_valid_values)
{
    static const struct { const char *s; int64_t v; } ok[] = {
        { "1", 1 }, { "9", 9 }, { "10", 10 }, { "42", 42 }, { "100", 100 },
        { "1000000000000000000", INT64_C(1000000000000000000) },
        { "9223372036854775806", INT64_MAX - 1 },
        { "9223372036854775807", INT64_MAX },
    };
    for (size_t i = 0; i < NBYTES(ok); i++) {
        int64_t v = -5;
        cr_assert_eq(parse_id(ok[i].s, strlen(ok[i].s), &v), 0, "parse_id(\"%s\") refused", ok[i].s);
        cr_assert_eq(v, ok[i].v, "parse_id(\"%s\") = %lld", ok[i].s, (long long)v);
    }
}

Test(numparse, id_rejects_zero)
{
    int64_t v = 77;
    cr_assert_eq(parse_id("0", 1, &v), -1);
    cr_assert_eq(v, 77);
}

Test(numparse, id_rejects_int64_overflow_by_one)
{
    int64_t v = 77;
    cr_assert_eq(parse_id("9223372036854775808", 19, &v), -1);
    cr_assert_eq(parse_id("9223372036854775809", 19, &v), -1);
    cr_assert_eq(parse_id("18446744073709551615", 20, &v), -1); /* UINT64_MAX */
    cr_assert_eq(parse_id("92233720368547758070", 20, &v), -1); /* one digit more */
    cr_assert_eq(v, 77, "*out written on failure");
}

Test(numparse, id_rejects_malformed)
{
    for (size_t i = 0; i < NBYTES(malformed); i++) {
        int64_t v = 77;
        cr_assert_eq(parse_id(malformed[i].s, malformed[i].len, &v), -1,
                     "parse_id accepted case %zu \"%s\"", i, malformed[i].s);
        cr_assert_eq(v, 77, "*out written on failure, case %zu", i);
    }
}

Test(numparse, id_uses_len_not_nul)
{
    int64_t v = 0;
    cr_assert_eq(parse_id("12345", 3, &v), 0);
    cr_assert_eq(v, 123);
    cr_assert_eq(parse_id("1234x", 4, &v), 0);
    cr_assert_eq(v, 1234);
    cr_assert_eq(parse_id("7 8", 1, &v), 0);
    cr_assert_eq(v, 7);
    /* A word inside a longer line: "SUB 42 x" */
    const char *line = "SUB 42 x";
    cr_assert_eq(parse_id(line + 4, 2, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(parse_id("12345", 0, &v), -1);
    cr_assert_eq(parse_id(NULL, 0, &v), -1);
}

Test(numparse, id_or_zero_values)
{
    int64_t v = -5;
    cr_assert_eq(parse_id_or_zero("0", 1, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(parse_id_or_zero("1", 1, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(parse_id_or_zero("9223372036854775807", 19, &v), 0);
    cr_assert_eq(v, INT64_MAX);
    v = 77;
    cr_assert_eq(parse_id_or_zero("9223372036854775808", 19, &v), -1);
    cr_assert_eq(v, 77);
}

Test(numparse, id_or_zero_rejects_malformed)
{
    for (size_t i = 0; i < NBYTES(malformed); i++) {
        int64_t v = 77;
        cr_assert_eq(parse_id_or_zero(malformed[i].s, malformed[i].len, &v), -1,
                     "parse_id_or_zero accepted case %zu \"%s\"", i, malformed[i].s);
        cr_assert_eq(v, 77);
    }
}

Test(numparse, uint_range_bounds)
{
    uint64_t v = 99;
    cr_assert_eq(parse_uint_range("1", 1, 1, 3600, &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(parse_uint_range("3600", 4, 1, 3600, &v), 0);
    cr_assert_eq(v, 3600);
    cr_assert_eq(parse_uint_range("300", 3, 1, 3600, &v), 0);
    cr_assert_eq(v, 300);
    v = 99;
    cr_assert_eq(parse_uint_range("0", 1, 1, 3600, &v), -1);
    cr_assert_eq(parse_uint_range("3601", 4, 1, 3600, &v), -1);
    cr_assert_eq(parse_uint_range("36000", 5, 1, 3600, &v), -1);
    cr_assert_eq(v, 99);
}

Test(numparse, uint_range_zero_only_when_min_is_zero)
{
    uint64_t v = 99;
    cr_assert_eq(parse_uint_range("0", 1, 0, 10, &v), 0);
    cr_assert_eq(v, 0);
    v = 99;
    cr_assert_eq(parse_uint_range("0", 1, 1, 10, &v), -1);
    cr_assert_eq(parse_uint_range("00", 2, 0, 10, &v), -1);
    cr_assert_eq(v, 99);
}

Test(numparse, uint_range_full_64_bits)
{
    uint64_t v = 0;
    cr_assert_eq(parse_uint_range("18446744073709551615", 20, 0, UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(parse_uint_range("18446744073709551614", 20, 0, UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX - 1);
    v = 5;
    cr_assert_eq(parse_uint_range("18446744073709551616", 20, 0, UINT64_MAX, &v), -1);
    cr_assert_eq(parse_uint_range("18446744073709551620", 20, 0, UINT64_MAX, &v), -1);
    cr_assert_eq(parse_uint_range("28446744073709551615", 20, 0, UINT64_MAX, &v), -1);
    cr_assert_eq(v, 5);
}

Test(numparse, uint_range_single_value_and_empty_range)
{
    uint64_t v = 0;
    cr_assert_eq(parse_uint_range("7", 1, 7, 7, &v), 0);
    cr_assert_eq(v, 7);
    v = 0;
    cr_assert_eq(parse_uint_range("6", 1, 7, 7, &v), -1);
    cr_assert_eq(parse_uint_range("8", 1, 7, 7, &v), -1);
    cr_assert_eq(parse_uint_range("5", 1, 9, 1, &v), -1); /* min > max */
    cr_assert_eq(v, 0);
}

Test(numparse, uint_range_rejects_malformed)
{
    for (size_t i = 0; i < NBYTES(malformed); i++) {
        uint64_t v = 77;
        cr_assert_eq(parse_uint_range(malformed[i].s, malformed[i].len, 0, UINT64_MAX, &v), -1,
                     "parse_uint_range accepted case %zu \"%s\"", i, malformed[i].s);
        cr_assert_eq(v, 77);
    }
}
