/* The mesh codes (SPEC 5.2: one table) and the WebSocket handshake's
 * reply (RFC 6455 4.2.2). */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/buffer.h>

#include "mesh.h"
#include "ws_handshake.h"

Test(mesh_codes, every_code_has_its_text)
{
    static const struct { int code; const char *text; } want[] = {
        { 101, "invalid parameters" }, { 102, "unknown method" }, { 201, "consume failed" },
        { 202, "already consuming" }, { 203, "unpop failed" }, { 301, "call failed" },
        { 401, "send failed" }, { 403, "not allowed for this role" },
        { 429, "over a rate limit" }, { 503, "storage unavailable" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_str_eq(mesh_code_text(want[i].code), want[i].text, "code %d", want[i].code);
    cr_assert_str_eq(mesh_code_text(0), "error");
    cr_assert_str_eq(mesh_code_text(404), "error");
}

/* RFC 6455 1.3's example. */
Test(ws_handshake, accept_key)
{
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_handshake, reply)
{
    struct evbuffer *b = evbuffer_new();
    ws_handshake_reply(b, "dGhlIHNhbXBsZSBub25jZQ==");
    size_t n = evbuffer_get_length(b);
    char *text = (char *)evbuffer_pullup(b, -1);
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                               "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    cr_assert_eq(n, sizeof(want) - 1);
    cr_assert_eq(memcmp(text, want, n), 0);
    evbuffer_free(b);
}
