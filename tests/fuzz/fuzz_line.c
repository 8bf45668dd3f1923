/* libFuzzer harness: a device's input stream through the text protocol's
 * parsers (SPEC 2.1, 2.2) as brokerd reads it: the magic, then lines, their
 * words, and 4-byte body sizes. The first input byte sets how many bytes
 * arrive per read, so that splits at every position are tried. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One parser pass over what has arrived; 0 to go on, -1 when the stream is
 * refused (as brokerd closes the connection). */
static int consume(struct evbuffer *in, int *have_magic)
{
    char line[PROTO_MAX_LINE + 1];
    size_t len;
    if (!*have_magic) {
        enum proto_status st = proto_take_magic(in);
        if (st == PROTO_BAD)
            return -1;
        if (st == PROTO_NEED_MORE)
            return 0;
        *have_magic = 1;
    }
    for (;;) {
        enum proto_status st = proto_take_line(in, line, sizeof(line), &len);
        if (st == PROTO_TOO_LONG)
            return -1;
        if (st == PROTO_NEED_MORE)
            return 0;
        if (len > PROTO_MAX_LINE || line[len] != '\0' || memchr(line, '\n', len))
            abort();
        struct proto_words w;
        if (proto_split(line, len, &w) == 0) {
            /* An empty line has no word; any other at least one. */
            if ((len == 0) != (w.n == 0) || w.n > PROTO_MAX_WORDS)
                abort();
            for (int i = 0; i < w.n; i++)
                if (w.len[i] == 0 || memchr(w.w[i], ' ', w.len[i]))
                    abort();
        }
        uint32_t body;
        if (len > 0 && (line[0] & 1) && proto_peek_size(in, &body) == PROTO_OK)
            evbuffer_drain(in, body < evbuffer_get_length(in) ? body : evbuffer_get_length(in));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = data[0] % 16 + 1;
    struct evbuffer *in = evbuffer_new();
    int have_magic = 0;
    for (size_t off = 1; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        evbuffer_add(in, data + off, n);
        if (consume(in, &have_magic) != 0)
            break;
    }
    evbuffer_free(in);
    return 0;
}
