/* frame: broker-to-client frames (SPEC 2.3), writing and reading. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "be32.h"
#include "frame.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Asserts that buf holds exactly the len bytes of want. */
static void assert_buf(struct evbuffer *buf, const void *want, size_t len)
{
    size_t have = evbuffer_get_length(buf);
    cr_assert_eq(have, len, "buffer holds %zu bytes, want %zu", have, len);
    if (len > 0)
        cr_assert_arr_eq(evbuffer_pullup(buf, -1), want, len);
}

static void add_raw(struct evbuffer *b, const void *p, size_t len)
{
    cr_assert_eq(evbuffer_add(b, p, len), 0);
}

/* ---- be32 ---- */

Test(be32, put_writes_most_significant_byte_first)
{
    unsigned char b[6] = { 0xee, 0, 0, 0, 0, 0xee };
    put_be32(b + 1, 0x01020304u);
    const unsigned char want[6] = { 0xee, 1, 2, 3, 4, 0xee };
    cr_assert_arr_eq(b, want, 6);
    put_be32(b + 1, 0xffffffffu);
    const unsigned char ones[6] = { 0xee, 0xff, 0xff, 0xff, 0xff, 0xee };
    cr_assert_arr_eq(b, ones, 6);
}

Test(be32, get_reads_bytes_above_0x7f_unsigned)
{
    const char b[5] = { 0, (char)0x80, 0, 0, (char)0xff };
    cr_assert_eq(get_be32(b), 0x00800000u);
    cr_assert_eq(get_be32(b + 1), 0x800000ffu);
}

Test(be32, round_trip)
{
    const uint32_t v[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fffffffu, 0x80000000u, 0xffffffffu };
    char b[4];
    for (size_t i = 0; i < NELEMS(v); i++) {
        put_be32(b, v[i]);
        cr_assert_eq(get_be32(b), v[i]);
    }
}

/* ---- writing ---- */

Test(frame_write, header_is_big_endian)
{
    unsigned char h[FRAME_HEADER_LEN];

    frame_header(h, FRAME_RESPONSE, 2);
    cr_assert_arr_eq(h, "\0\0\0\x06\0\0\0\0", 8);
    frame_header(h, FRAME_ACK, 0);
    cr_assert_arr_eq(h, "\0\0\0\x04\0\0\0\x03", 8);
    frame_header(h, FRAME_MESSAGE, 0x01020304);
    cr_assert_arr_eq(h, "\x01\x02\x03\x08\0\0\0\x02", 8);
    frame_header(h, FRAME_ERROR, 65536);
    cr_assert_arr_eq(h, "\0\x01\0\x04\0\0\0\x01", 8);
}

Test(frame_write, response_ok)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add(b, FRAME_RESPONSE, "OK", 2), 0);
    assert_buf(b, "\0\0\0\x06\0\0\0\0OK", 10);
    evbuffer_free(b);
}

Test(frame_write, str_and_empty)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add_str(b, FRAME_RESPONSE, "CLOSE_WAIT"), 0);
    cr_assert_eq(frame_add(b, FRAME_RESPONSE, NULL, 0), 0);
    assert_buf(b, "\0\0\0\x0e\0\0\0\0CLOSE_WAIT" "\0\0\0\x04\0\0\0\0", 26);
    evbuffer_free(b);
}

Test(frame_write, error_with_and_without_reason)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add_error(b, "E_INVALID", NULL), 0);
    assert_buf(b, "\0\0\0\x0d\0\0\0\x01" "E_INVALID", 17);
    evbuffer_drain(b, 17);

    cr_assert_eq(frame_add_error(b, "E_INVALID", ""), 0);
    assert_buf(b, "\0\0\0\x0d\0\0\0\x01" "E_INVALID", 17);
    evbuffer_drain(b, 17);

    cr_assert_eq(frame_add_error(b, "E_BAD_CHANNEL", "channel id must be a positive int64"), 0);
    const char want[] = "\0\0\0\x35\0\0\0\x01" "E_BAD_CHANNEL channel id must be a positive int64";
    assert_buf(b, want, sizeof(want) - 1);
    evbuffer_free(b);
}

Test(frame_write, ack)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add_ack(b, 1, 5, 7), 0);
    assert_buf(b, "\0\0\0\x0d\0\0\0\x03" "ACK 1 5 7", 17);
    evbuffer_drain(b, 17);

    cr_assert_eq(frame_add_ack(b, 0, 12, 0), 0);
    assert_buf(b, "\0\0\0\x0e\0\0\0\x03" "ACK 0 12 0", 18);
    evbuffer_drain(b, 18);

    cr_assert_eq(frame_add_ack(b, 42, INT64_MAX, INT64_MAX), 0); /* any true ok is 1 */
    const char want[] = "\0\0\0\x31\0\0\0\x03" "ACK 1 9223372036854775807 9223372036854775807";
    assert_buf(b, want, sizeof(want) - 1);
    evbuffer_free(b);
}

Test(frame_write, msg_line)
{
    char line[FRAME_MSG_LINE_MAX];
    struct frame_msg_meta m = { 17, 3, 99, 1700000000123, 1 };

    cr_assert_eq(frame_msg_line(line, &m), 24);
    cr_assert_str_eq(line, "17 3 99 1700000000123 1\n");

    struct frame_msg_meta z = { 1, 0, 0, 0, 2 };
    cr_assert_eq(frame_msg_line(line, &z), 10);
    cr_assert_str_eq(line, "1 0 0 0 2\n");

    struct frame_msg_meta big = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX };
    cr_assert_eq(frame_msg_line(line, &big), 100);
    cr_assert_eq(line[99], '\n');
    cr_assert_eq(line[100], '\0');
}

Test(frame_write, message)
{
    struct evbuffer *b = evbuffer_new();
    struct frame_msg_meta m = { 5, 2, 9, 1000, 1 };

    cr_assert_eq(frame_add_message(b, &m, "hello", 5), 0);
    const char want[] = "\0\0\0\x16\0\0\0\x02" "5 2 9 1000 1\n" "hello";
    assert_buf(b, want, sizeof(want) - 1);
    evbuffer_drain(b, sizeof(want) - 1);

    cr_assert_eq(frame_add_message(b, &m, NULL, 0), 0);
    const char want2[] = "\0\0\0\x11\0\0\0\x02" "5 2 9 1000 1\n";
    assert_buf(b, want2, sizeof(want2) - 1);
    evbuffer_free(b);
}

/* ---- reading ---- */

struct taken {
    enum frame_status st;
    enum frame_type type;
    char *data;
    size_t len;
};

static struct taken take(struct evbuffer *b, size_t max_len)
{
    struct taken t = { FRAME_BAD, (enum frame_type)99, NULL, 12345 };
    t.st = frame_take(b, max_len, &t.type, &t.data, &t.len);
    return t;
}

Test(frame_read, need_more_below_header)
{
    static const unsigned char whole[] = { 0, 0, 0, 6, 0, 0, 0, 0, 'O', 'K' };
    for (size_t n = 0; n < sizeof(whole); n++) {
        struct evbuffer *b = evbuffer_new();
        add_raw(b, whole, n);
        struct taken t = take(b, 100);
        cr_assert_eq(t.st, FRAME_NEED_MORE, "%zu of 10 bytes", n);
        cr_assert_null(t.data);
        cr_assert_eq(evbuffer_get_length(b), n, "drained on NEED_MORE");
        evbuffer_free(b);
    }
}

Test(frame_read, whole_response)
{
    struct evbuffer *b = evbuffer_new();
    add_raw(b, "\0\0\0\x06\0\0\0\0OK", 10);
    struct taken t = take(b, 100);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_RESPONSE);
    cr_assert_eq(t.len, 2);
    cr_assert_str_eq(t.data, "OK");
    cr_assert_eq(evbuffer_get_length(b), 0);
    free(t.data);
    evbuffer_free(b);
}

Test(frame_read, sizes_0_to_3_are_bad)
{
    for (unsigned char size = 0; size < 4; size++) {
        /* Decided from the size field alone, and with the type there too. */
        for (size_t have = 4; have <= 8; have += 4) {
            unsigned char raw[8] = { 0, 0, 0, size, 0, 0, 0, 0 };
            struct evbuffer *b = evbuffer_new();
            add_raw(b, raw, have);
            struct taken t = take(b, 100);
            cr_assert_eq(t.st, FRAME_BAD, "size %u with %zu bytes", size, have);
            cr_assert_null(t.data);
            cr_assert_eq(evbuffer_get_length(b), have, "drained on BAD");
            evbuffer_free(b);
        }
    }
}

Test(frame_read, size_4_is_empty_data)
{
    struct evbuffer *b = evbuffer_new();
    add_raw(b, "\0\0\0\x04\0\0\0\x01", 8);
    struct taken t = take(b, 0);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_ERROR);
    cr_assert_eq(t.len, 0);
    cr_assert_not_null(t.data);
    cr_assert_eq(t.data[0], '\0');
    free(t.data);
    evbuffer_free(b);
}

Test(frame_read, max_len_bound)
{
    /* max_len 3: size 7 (3 bytes of data) is fine, size 8 is not. */
    struct evbuffer *b = evbuffer_new();
    add_raw(b, "\0\0\0\x07\0\0\0\x00" "abc", 11);
    struct taken t = take(b, 3);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.len, 3);
    cr_assert_str_eq(t.data, "abc");
    free(t.data);

    add_raw(b, "\0\0\0\x08", 4);  /* over the limit: BAD before the rest arrives */
    t = take(b, 3);
    cr_assert_eq(t.st, FRAME_BAD);
    cr_assert_eq(evbuffer_get_length(b), 4);
    evbuffer_free(b);
}

Test(frame_read, huge_sizes_are_bad)
{
    static const unsigned char sizes[][4] = {
        { 0xff, 0xff, 0xff, 0xff }, { 0x80, 0, 0, 0 }, { 0, 0x01, 0, 0x05 },
    };
    for (size_t i = 0; i < NELEMS(sizes); i++) {
        struct evbuffer *b = evbuffer_new();
        add_raw(b, sizes[i], 4);
        cr_assert_eq(take(b, 65536).st, FRAME_BAD, "size #%zu", i);
        evbuffer_free(b);
    }
    /* SIZE_MAX as max_len must not overflow: 0xffffffff is then in range. */
    struct evbuffer *b = evbuffer_new();
    add_raw(b, "\xff\xff\xff\xff\0\0\0\0", 8);
    cr_assert_eq(take(b, SIZE_MAX).st, FRAME_NEED_MORE);
    evbuffer_free(b);
}

Test(frame_read, unknown_type_is_bad)
{
    static const unsigned char types[][4] = {
        { 0, 0, 0, 4 }, { 0, 0, 1, 0 }, { 0xff, 0xff, 0xff, 0xff }, { 0x80, 0, 0, 0 },
    };
    for (size_t i = 0; i < NELEMS(types); i++) {
        struct evbuffer *b = evbuffer_new();
        add_raw(b, "\0\0\0\x05", 4);
        add_raw(b, types[i], 4);
        add_raw(b, "x", 1);
        cr_assert_eq(take(b, 100).st, FRAME_BAD, "type #%zu", i);
        cr_assert_eq(evbuffer_get_length(b), 9);
        evbuffer_free(b);
    }
}

Test(frame_read, back_to_back_frames)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add_str(b, FRAME_RESPONSE, "H"), 0);
    cr_assert_eq(frame_add_ack(b, 0, 3, 4), 0);
    cr_assert_eq(frame_add_error(b, "E_INVALID", "bad"), 0);

    struct taken t = take(b, 100);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_RESPONSE);
    cr_assert_str_eq(t.data, "H");
    free(t.data);
    t = take(b, 100);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_ACK);
    cr_assert_str_eq(t.data, "ACK 0 3 4");
    free(t.data);
    t = take(b, 100);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_ERROR);
    cr_assert_eq(t.len, 13);
    cr_assert_str_eq(t.data, "E_INVALID bad");
    free(t.data);
    cr_assert_eq(take(b, 100).st, FRAME_NEED_MORE);
    evbuffer_free(b);
}

Test(frame_read, data_with_nul_bytes)
{
    struct evbuffer *b = evbuffer_new();
    cr_assert_eq(frame_add(b, FRAME_MESSAGE, "a\0b", 3), 0);
    struct taken t = take(b, 100);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.len, 3);
    cr_assert_arr_eq(t.data, "a\0b\0", 4);
    free(t.data);
    evbuffer_free(b);
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* A stream of mostly well-formed frames with random sizes, types and data,
 * sometimes raw garbage, fed in random pieces: never a crash, every result
 * is one of the three, nothing is drained unless FRAME_OK, and FRAME_OK
 * drains exactly 8 + len bytes. */
Test(frame_read, random_input_never_crashes)
{
    uint32_t x = 2463534242u;
    unsigned seen[3] = { 0, 0, 0 };  /* OK, NEED_MORE, BAD */

    for (int round = 0; round < 500; round++) {
        unsigned char stream[512];
        size_t n = 0;
        while (n + 48 < sizeof(stream)) {
            uint32_t r = xorshift(&x);
            if (r % 8 == 0) {  /* garbage */
                size_t g = 1 + r % 13;
                for (size_t i = 0; i < g; i++)
                    stream[n++] = (unsigned char)xorshift(&x);
                continue;
            }
            uint32_t dlen = (r >> 4) % 40;        /* max_len is 32: some too big */
            uint32_t type = (r >> 12) % 5;        /* type 4 is unknown */
            uint32_t size = (r >> 16) % 16 == 0 ? (r >> 20) % 4 : 4 + dlen; /* some 0..3 */
            unsigned char h[8] = { 0, 0, 0, (unsigned char)size, 0, 0, 0, (unsigned char)type };
            memcpy(stream + n, h, 8);
            n += 8;
            for (uint32_t i = 0; i < dlen; i++)
                stream[n++] = (unsigned char)xorshift(&x);
        }

        struct evbuffer *b = evbuffer_new();
        size_t fed = 0;
        while (fed < n) {
            size_t piece = 1 + xorshift(&x) % 24;
            if (piece > n - fed)
                piece = n - fed;
            add_raw(b, stream + fed, piece);
            fed += piece;
            for (;;) {
                size_t before = evbuffer_get_length(b);
                struct taken t = take(b, 32);
                if (t.st == FRAME_OK) {
                    cr_assert_leq(t.len, 32);
                    cr_assert_leq(t.type, FRAME_ACK);
                    cr_assert_eq(before - evbuffer_get_length(b), 8 + t.len);
                    cr_assert_eq(t.data[t.len], '\0');
                    free(t.data);
                    seen[0]++;
                    continue;
                }
                cr_assert(t.st == FRAME_NEED_MORE || t.st == FRAME_BAD);
                cr_assert_null(t.data);
                cr_assert_eq(evbuffer_get_length(b), before);
                seen[t.st == FRAME_NEED_MORE ? 1 : 2]++;
                if (t.st == FRAME_BAD)  /* resynchronise: skip one byte */
                    evbuffer_drain(b, 1);
                else
                    break;
            }
        }
        evbuffer_free(b);
    }
    cr_log_info("random input: %u OK, %u NEED_MORE, %u BAD", seen[0], seen[1], seen[2]);
    cr_assert(seen[0] > 1000 && seen[1] > 1000 && seen[2] > 1000);
}

/* ---- Message data ---- */

Test(frame_msg, parse_valid)
{
    const char d[] = "17 3 99 1700000000123 2\nhello\nworld";
    struct frame_msg_meta m;
    const char *body = NULL;
    size_t blen = 0;

    cr_assert_eq(frame_msg_parse(d, sizeof(d) - 1, &m, &body, &blen), 0);
    cr_assert_eq(m.message_id, 17);
    cr_assert_eq(m.channel_id, 3);
    cr_assert_eq(m.from_client_id, 99);
    cr_assert_eq(m.timestamp_ms, INT64_C(1700000000123));
    cr_assert_eq(m.attempt, 2);
    cr_assert_eq(body, d + 24);
    cr_assert_eq(blen, 11);
}

Test(frame_msg, parse_zeros_and_empty_body)
{
    const char d[] = "1 0 0 0 1\n";
    struct frame_msg_meta m;
    const char *body;
    size_t blen = 99;

    cr_assert_eq(frame_msg_parse(d, sizeof(d) - 1, &m, &body, &blen), 0);
    cr_assert_eq(m.message_id, 1);
    cr_assert_eq(m.channel_id, 0);
    cr_assert_eq(m.from_client_id, 0);
    cr_assert_eq(m.timestamp_ms, 0);
    cr_assert_eq(m.attempt, 1);
    cr_assert_eq(blen, 0);
}

Test(frame_msg, parse_rejects_malformed)
{
    static const char *bad[] = {
        "",                            /* empty */
        "1 2 3 4 5",                   /* no newline */
        "1 2 3 4\nx",                  /* four fields */
        "1 2 3 4 5 6\nx",              /* six fields */
        "1 2  3 4 5\n",                /* double space */
        " 1 2 3 4 5\n",                /* leading space */
        "1 2 3 4 5 \n",                /* trailing space */
        "0 2 3 4 5\n",                 /* message_id 0 */
        "1 2 3 4 0\n",                 /* attempt 0 */
        "01 2 3 4 5\n",                /* leading zero */
        "1 -2 3 4 5\n",                /* sign */
        "1 2 3 0x4 5\n",               /* hex */
        "9223372036854775808 2 3 4 5\n", /* overflow by one */
        "1 2 3 9223372036854775808 5\n",
        "1 2 3 4 5\r\n",               /* '\r' is not part of the format */
        "1\t2 3 4 5\n",
        "a b c d e\n",
    };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        struct frame_msg_meta m = { 0 };
        const char *body = NULL;
        size_t blen = 0;
        cr_assert_eq(frame_msg_parse(bad[i], strlen(bad[i]), &m, &body, &blen), -1,
                     "accepted \"%s\"", bad[i]);
    }
}

Test(frame_msg, newline_must_come_early)
{
    /* No '\n' within FRAME_MSG_LINE_MAX bytes: refused without scanning on. */
    char d[300];
    memset(d, '1', sizeof(d));
    d[sizeof(d) - 1] = '\n';
    struct frame_msg_meta m;
    const char *body;
    size_t blen;
    cr_assert_eq(frame_msg_parse(d, sizeof(d), &m, &body, &blen), -1);
}

Test(frame_msg, round_trip)
{
    struct evbuffer *b = evbuffer_new();
    struct frame_msg_meta in = { INT64_MAX, 12, 0, 1700000000000, 3 };
    cr_assert_eq(frame_add_message(b, &in, "pay\nload", 8), 0);

    struct taken t = take(b, 1000);
    cr_assert_eq(t.st, FRAME_OK);
    cr_assert_eq(t.type, FRAME_MESSAGE);
    struct frame_msg_meta out;
    const char *body;
    size_t blen;
    cr_assert_eq(frame_msg_parse(t.data, t.len, &out, &body, &blen), 0);
    cr_assert_eq(out.message_id, INT64_MAX);
    cr_assert_eq(out.channel_id, 12);
    cr_assert_eq(out.from_client_id, 0);
    cr_assert_eq(out.timestamp_ms, INT64_C(1700000000000));
    cr_assert_eq(out.attempt, 3);
    cr_assert_eq(blen, 8);
    cr_assert_arr_eq(body, "pay\nload", 8);
    free(t.data);
    evbuffer_free(b);
}
