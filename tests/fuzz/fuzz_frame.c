/* libFuzzer harness: the client side's frame reader and Message parser
 * (SPEC 2.3), fed in pieces; every Message that parses must encode back to
 * the same frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DATA 4096

/* A parsed Message written again must give back the bytes it came from. */
static void check_roundtrip(const char *d, size_t len)
{
    struct frame_msg_meta m;
    const char *body;
    size_t blen;
    if (frame_msg_parse(d, len, &m, &body, &blen) != 0)
        return;
    if (body < d || body + blen != d + len)
        abort();
    struct evbuffer *out = evbuffer_new();
    if (frame_add_message(out, &m, body, blen) != 0)
        abort();
    size_t n = evbuffer_get_length(out);
    unsigned char *p = evbuffer_pullup(out, -1);
    if (n != FRAME_HEADER_LEN + len || memcmp(p + FRAME_HEADER_LEN, d, len) != 0)
        abort();
    evbuffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = data[0] % 32 + 1;
    struct evbuffer *in = evbuffer_new();
    int bad = 0;
    for (size_t off = 1; off < size && !bad; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        evbuffer_add(in, data + off, n);
        for (;;) {
            enum frame_type type;
            char *d = NULL;
            size_t len = 0;
            enum frame_status st = frame_take(in, MAX_DATA, &type, &d, &len);
            if (st == FRAME_BAD)
                bad = 1;
            if (st != FRAME_OK)
                break;
            if (len > MAX_DATA || d[len] != '\0')
                abort();
            if (type == FRAME_MESSAGE)
                check_roundtrip(d, len);
            free(d);
        }
    }
    evbuffer_free(in);
    return 0;
}
