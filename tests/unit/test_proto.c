/* proto: magic, lines, words and body sizes of the device protocol
 * (SPEC 2.1, 2.2). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct evbuffer *buf_of(const void *p, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_not_null(b);
    if (len > 0)
        cr_assert_eq(evbuffer_add(b, p, len), 0);
    return b;
}

/* Appends p as its own chain (so searches must cross chain boundaries). */
static void add_chain(struct evbuffer *b, const void *p, size_t len)
{
    struct evbuffer *piece = buf_of(p, len);
    cr_assert_eq(evbuffer_add_buffer(b, piece), 0);
    evbuffer_free(piece);
}

/* ---- magic ---- */

Test(proto_magic, exact_match_is_drained)
{
    struct evbuffer *b = buf_of("  V1H\n", 6);
    cr_assert_eq(proto_take_magic(b), PROTO_OK);
    cr_assert_eq(evbuffer_get_length(b), 2);
    cr_assert_arr_eq(evbuffer_pullup(b, -1), "H\n", 2);
    evbuffer_free(b);
}

Test(proto_magic, prefixes_need_more)
{
    for (size_t n = 0; n < PROTO_MAGIC_LEN; n++) {
        struct evbuffer *b = buf_of(PROTO_MAGIC, n);
        cr_assert_eq(proto_take_magic(b), PROTO_NEED_MORE, "%zu bytes", n);
        cr_assert_eq(evbuffer_get_length(b), n);
        evbuffer_free(b);
    }
}

Test(proto_magic, byte_by_byte)
{
    struct evbuffer *b = evbuffer_new();
    for (size_t i = 0; i < PROTO_MAGIC_LEN; i++) {
        evbuffer_add(b, PROTO_MAGIC + i, 1);
        cr_assert_eq(proto_take_magic(b), i + 1 < PROTO_MAGIC_LEN ? PROTO_NEED_MORE : PROTO_OK);
    }
    cr_assert_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
}

/* A wrong byte at position i is PROTO_BAD as soon as it is there, without
 * waiting for the rest, and nothing is drained. */
Test(proto_magic, mismatch_at_each_position)
{
    for (size_t i = 0; i < PROTO_MAGIC_LEN; i++) {
        char m[PROTO_MAGIC_LEN];
        memcpy(m, PROTO_MAGIC, PROTO_MAGIC_LEN);
        m[i] = m[i] == 'X' ? 'Y' : 'X';
        for (size_t have = i + 1; have <= PROTO_MAGIC_LEN; have++) {
            struct evbuffer *b = buf_of(m, have);
            cr_assert_eq(proto_take_magic(b), PROTO_BAD, "byte %zu wrong, %zu bytes in", i, have);
            cr_assert_eq(evbuffer_get_length(b), have);
            evbuffer_free(b);
        }
    }
}

Test(proto_magic, other_protocols_are_bad)
{
    static const char *bad[] = { "GET / HTTP/1.1\r\n", "  V2", " V1 ", "  v1", "\0\0\0\0", "H\n", "  V" "\x00" };
    static const size_t len[] = { 16, 4, 4, 4, 4, 2, 4 };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        struct evbuffer *b = buf_of(bad[i], len[i]);
        cr_assert_eq(proto_take_magic(b), PROTO_BAD, "case %zu", i);
        evbuffer_free(b);
    }
}

/* ---- lines ---- */

struct line_result {
    enum proto_status st;
    char buf[PROTO_MAX_LINE + 2];
    size_t len;
};

static void take(struct evbuffer *b, struct line_result *r)
{
    memset(r->buf, 'Z', sizeof(r->buf));
    r->len = 99999;
    r->st = proto_take_line(b, r->buf, sizeof(r->buf), &r->len);
}

static void expect_line(struct evbuffer *b, const char *want, size_t want_len)
{
    struct line_result r;
    take(b, &r);
    cr_assert_eq(r.st, PROTO_OK, "status %d", r.st);
    cr_assert_eq(r.len, want_len, "len %zu, want %zu", r.len, want_len);
    if (want_len > 0)
        cr_assert_arr_eq(r.buf, want, want_len);
    cr_assert_eq(r.buf[want_len], '\0', "not NUL-terminated");
}

static void expect_status(struct evbuffer *b, enum proto_status st)
{
    size_t before = evbuffer_get_length(b);
    struct line_result r;
    take(b, &r);
    cr_assert_eq(r.st, st, "status %d, want %d", r.st, st);
    cr_assert_eq(evbuffer_get_length(b), before, "drained on status %d", st);
}

Test(proto_line, lf_and_crlf)
{
    struct evbuffer *b = buf_of("H\nSUB 1\r\nCLS\n", 13);
    expect_line(b, "H", 1);
    expect_line(b, "SUB 1", 5);
    expect_line(b, "CLS", 3);
    expect_status(b, PROTO_NEED_MORE);
    cr_assert_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
}

Test(proto_line, empty_lines)
{
    struct evbuffer *b = buf_of("\n\r\n", 3);
    expect_line(b, "", 0);
    expect_line(b, "", 0);
    cr_assert_eq(evbuffer_get_length(b), 0);
    evbuffer_free(b);
}

Test(proto_line, missing_newline_waits)
{
    struct evbuffer *b = buf_of("SUB 1", 5);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "\r", 1);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "\nPUB", 4);
    expect_line(b, "SUB 1", 5);
    expect_status(b, PROTO_NEED_MORE);
    cr_assert_eq(evbuffer_get_length(b), 3);
    evbuffer_free(b);
}

Test(proto_line, empty_buffer_needs_more)
{
    struct evbuffer *b = evbuffer_new();
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_free(b);
}

Test(proto_line, only_one_cr_is_stripped)
{
    struct evbuffer *b = buf_of("a\r\r\nb\rc\n\rd\n", 12);
    expect_line(b, "a\r", 2);
    expect_line(b, "b\rc", 3);
    expect_line(b, "\rd", 2);
    evbuffer_free(b);
}

Test(proto_line, nul_bytes_are_kept)
{
    struct evbuffer *b = buf_of("a\0b\n", 4);
    expect_line(b, "a\0b", 3);
    evbuffer_free(b);
}

static char *filled(size_t n, char c)
{
    char *p = malloc(n + 1);
    memset(p, c, n);
    p[n] = '\0';
    return p;
}

Test(proto_line, exactly_1024_with_lf)
{
    char *l = filled(PROTO_MAX_LINE, 'a');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "\nH\n", 3);
    expect_line(b, l, PROTO_MAX_LINE);
    expect_line(b, "H", 1);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, exactly_1024_with_crlf)
{
    char *l = filled(PROTO_MAX_LINE, 'b');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE);
    evbuffer_add(b, "\r\n", 2);
    expect_line(b, l, PROTO_MAX_LINE);
    cr_assert_eq(evbuffer_get_length(b), 0);
    free(l);
    evbuffer_free(b);
}

/* 1024 bytes then '\r' is 1025 bytes without '\n', but may still become a
 * legal line: wait for the next byte. */
Test(proto_line, exactly_1024_cr_then_lf_later)
{
    char *l = filled(PROTO_MAX_LINE, 'c');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE);
    evbuffer_add(b, "\r", 1);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "\n", 1);
    expect_line(b, l, PROTO_MAX_LINE);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, exactly_1024_cr_then_other_byte_is_too_long)
{
    char *l = filled(PROTO_MAX_LINE, 'c');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE);
    evbuffer_add(b, "\r", 1);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "x", 1);
    expect_status(b, PROTO_TOO_LONG);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, 1025_bytes_without_newline_is_too_long_at_once)
{
    char *l = filled(PROTO_MAX_LINE + 1, 'd');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "d", 1);
    expect_status(b, PROTO_TOO_LONG);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, 1025_bytes_then_newline_is_too_long)
{
    char *l = filled(PROTO_MAX_LINE + 1, 'e');
    struct evbuffer *b = buf_of(l, PROTO_MAX_LINE + 1);
    evbuffer_add(b, "\n", 1);
    expect_status(b, PROTO_TOO_LONG);
    evbuffer_free(b);
    b = buf_of(l, PROTO_MAX_LINE + 1);
    evbuffer_add(b, "\r\n", 2);
    expect_status(b, PROTO_TOO_LONG);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, newline_far_away_is_too_long)
{
    char *l = filled(100000, 'f');
    struct evbuffer *b = buf_of(l, 100000);
    evbuffer_add(b, "\n", 1);
    expect_status(b, PROTO_TOO_LONG);
    free(l);
    evbuffer_free(b);
}

/* The limit holds for every line, not only the first. */
Test(proto_line, long_line_after_short_one)
{
    char *l = filled(PROTO_MAX_LINE + 1, 'g');
    struct evbuffer *b = buf_of("H\n", 2);
    evbuffer_add(b, l, PROTO_MAX_LINE + 1);
    expect_line(b, "H", 1);
    expect_status(b, PROTO_TOO_LONG);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, byte_by_byte_full_length_line)
{
    char *l = filled(PROTO_MAX_LINE, 'h');
    struct evbuffer *b = evbuffer_new();
    for (size_t i = 0; i < PROTO_MAX_LINE; i++) {
        evbuffer_add(b, l + i, 1);
        expect_status(b, PROTO_NEED_MORE);
    }
    evbuffer_add(b, "\r", 1);
    expect_status(b, PROTO_NEED_MORE);
    evbuffer_add(b, "\n", 1);
    expect_line(b, l, PROTO_MAX_LINE);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, across_chains)
{
    char *l = filled(PROTO_MAX_LINE, 'i');
    struct evbuffer *b = evbuffer_new();
    add_chain(b, "PUB 0 ", 6);
    add_chain(b, "5 7", 3);
    add_chain(b, "\r", 1);
    add_chain(b, "\nSUB", 4);
    add_chain(b, " 9\n", 3);
    expect_line(b, "PUB 0 5 7", 9);
    expect_line(b, "SUB 9", 5);
    for (size_t i = 0; i < PROTO_MAX_LINE; i += 100)
        add_chain(b, l + i, i + 100 <= PROTO_MAX_LINE ? 100 : PROTO_MAX_LINE - i);
    add_chain(b, "\r", 1);
    add_chain(b, "\n", 1);
    expect_line(b, l, PROTO_MAX_LINE);
    for (size_t i = 0; i < PROTO_MAX_LINE; i += 100)
        add_chain(b, l + i, i + 100 <= PROTO_MAX_LINE ? 100 : PROTO_MAX_LINE - i);
    add_chain(b, "ii", 2);
    /* Many chains, and still as many afterwards: nothing was pulled up. */
    int chains = evbuffer_peek(b, -1, NULL, NULL, 0);
    cr_assert_gt(chains, 10);
    expect_status(b, PROTO_TOO_LONG);
    cr_assert_eq(evbuffer_peek(b, -1, NULL, NULL, 0), chains);
    free(l);
    evbuffer_free(b);
}

Test(proto_line, small_buffer_lowers_the_limit)
{
    char small[5];
    size_t len = 0;
    struct evbuffer *b = buf_of("abcd\nabcde\n", 11);
    cr_assert_eq(proto_take_line(b, small, sizeof(small), &len), PROTO_OK);
    cr_assert_eq(len, 4);
    cr_assert_str_eq(small, "abcd");
    cr_assert_eq(proto_take_line(b, small, sizeof(small), &len), PROTO_TOO_LONG);
    cr_assert_eq(proto_take_line(b, small, 0, &len), PROTO_TOO_LONG);
    evbuffer_free(b);
}

/* ---- words ---- */

static void expect_word(const struct proto_words *w, int i, const char *want)
{
    cr_assert_lt(i, w->n);
    cr_assert_eq(w->len[i], strlen(want), "word %d has length %zu", i, w->len[i]);
    cr_assert_arr_eq(w->w[i], want, w->len[i]);
}

Test(proto_split, one_to_four_words)
{
    struct proto_words w;
    const char *l = "H";
    cr_assert_eq(proto_split(l, 1, &w), 0);
    cr_assert_eq(w.n, 1);
    expect_word(&w, 0, "H");
    cr_assert_eq(w.w[0], l);

    l = "SUB 42";
    cr_assert_eq(proto_split(l, 6, &w), 0);
    cr_assert_eq(w.n, 2);
    expect_word(&w, 0, "SUB");
    expect_word(&w, 1, "42");
    cr_assert_eq(w.w[1], l + 4);

    l = "PUB 0 5 7";
    cr_assert_eq(proto_split(l, 9, &w), 0);
    cr_assert_eq(w.n, 4);
    expect_word(&w, 0, "PUB");
    expect_word(&w, 1, "0");
    expect_word(&w, 2, "5");
    expect_word(&w, 3, "7");
}

Test(proto_split, uses_len_not_nul)
{
    struct proto_words w;
    cr_assert_eq(proto_split("FIN 12 junk", 6, &w), 0);
    cr_assert_eq(w.n, 2);
    expect_word(&w, 1, "12");
}

Test(proto_split, empty_line)
{
    struct proto_words w;
    w.n = 5;
    cr_assert_eq(proto_split("", 0, &w), 0);
    cr_assert_eq(w.n, 0);
}

Test(proto_split, eight_words_ok_nine_too_many)
{
    struct proto_words w;
    cr_assert_eq(proto_split("a b c d e f g h", 15, &w), 0);
    cr_assert_eq(w.n, PROTO_MAX_WORDS);
    expect_word(&w, 7, "h");
    cr_assert_eq(proto_split("a b c d e f g h i", 17, &w), -1);
    expect_word(&w, 0, "a");
}

Test(proto_split, double_space)
{
    struct proto_words w;
    cr_assert_eq(proto_split("SUB  1", 6, &w), -1);
    expect_word(&w, 0, "SUB");
    cr_assert_eq(proto_split("PUB 1  2 3", 10, &w), -1);
    expect_word(&w, 0, "PUB");
}

Test(proto_split, leading_space)
{
    struct proto_words w;
    cr_assert_eq(proto_split(" SUB 1", 6, &w), -1);
    cr_assert_geq(w.n, 1);
    cr_assert_eq(w.len[0], 0);
    cr_assert_eq(proto_split(" ", 1, &w), -1);
}

Test(proto_split, trailing_space)
{
    struct proto_words w;
    cr_assert_eq(proto_split("SUB 1 ", 6, &w), -1);
    expect_word(&w, 0, "SUB");
    cr_assert_eq(proto_split("CLS ", 4, &w), -1);
    expect_word(&w, 0, "CLS");
}

Test(proto_split, tabs_are_not_separators)
{
    struct proto_words w;
    cr_assert_eq(proto_split("SUB\t1", 5, &w), 0);
    cr_assert_eq(w.n, 1);
    expect_word(&w, 0, "SUB\t1");
}

/* ---- body size ---- */

Test(proto_size, needs_four_bytes)
{
    for (size_t n = 0; n < 4; n++) {
        uint32_t size = 77;
        struct evbuffer *b = buf_of("\0\0\0\x05", n);
        cr_assert_eq(proto_peek_size(b, &size), PROTO_NEED_MORE, "%zu bytes", n);
        cr_assert_eq(size, 77);
        evbuffer_free(b);
    }
}

Test(proto_size, big_endian_not_drained)
{
    static const struct { const char *raw; uint32_t v; } cases[] = {
        { "\0\0\0\0", 0 }, { "\0\0\0\x05", 5 }, { "\0\0\x01\0", 256 },
        { "\0\x01\0\0", 65536 }, { "\x12\x34\x56\x78", 0x12345678u },
        { "\xff\xff\xff\xff", UINT32_MAX },
    };
    for (size_t i = 0; i < NELEMS(cases); i++) {
        uint32_t size = 77;
        struct evbuffer *b = buf_of(cases[i].raw, 4);
        evbuffer_add(b, "body", 4);
        cr_assert_eq(proto_peek_size(b, &size), PROTO_OK);
        cr_assert_eq(size, cases[i].v, "case %zu: %u", i, size);
        cr_assert_eq(evbuffer_get_length(b), 8);
        evbuffer_free(b);
    }
}

Test(proto_size, across_chains)
{
    uint32_t size = 0;
    struct evbuffer *b = evbuffer_new();
    add_chain(b, "\0", 1);
    add_chain(b, "\0\x10", 2);
    add_chain(b, "\x01", 1);
    cr_assert_eq(proto_peek_size(b, &size), PROTO_OK);
    cr_assert_eq(size, 0x1001);
    evbuffer_free(b);
}
