/* A message as a WebSocket client gets it (SPEC 5.2):
 * {"e":"message","p":{"i","c","f","ts","a","t","d"},"id":null}, the body
 * as text when it is valid UTF-8, else base64. The attempt-1 frame is
 * built once per message, whatever the number of clients it goes to. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "ws.h"
#include "xmalloc.h"

/* The body as JSON: a string if it is UTF-8 (jansson checks), else
 * base64; *binary says which. */
static json_t *msg_data(const char *body, size_t len, int *binary)
{
    json_t *d = json_stringn(body, len);
    *binary = d == NULL;
    if (d)
        return d;
    char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)body, (int)len);
    d = json_string(b64);
    free(b64);
    return d;
}

char *mesh_message_text(const struct msg *m, int64_t attempt, size_t *len)
{
    char mid[ARG_INT_MAX], from[ARG_INT_MAX], ch[ARG_INT_MAX] = "";
    int binary;
    json_t *d = msg_data(m->frame1 + m->body_off, m->frame1_len - m->body_off, &binary);
    if (m->meta.channel_id)
        arg_int(ch, m->meta.channel_id);
    json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o}",
                          "i", arg_int(mid, m->meta.message_id), "c", ch,
                          "f", arg_int(from, m->meta.from_client_id),
                          "ts", (json_int_t)m->meta.timestamp_ms, "a", (json_int_t)attempt,
                          "t", binary ? "binary" : "text", "d", d);
    return mesh_event_text("message", p, len);
}

void ws_msg_frame(struct broker *b, struct msg *m)
{
    if (m->ws1)
        return;
    size_t len;
    char *text = mesh_message_text(m, 1, &len);
    struct evbuffer *out = evbuffer_new();
    ws_frame_encode(b, out, WSLAY_TEXT_FRAME, text ? text : "", text ? len : 0);
    free(text);
    m->ws1_len = evbuffer_get_length(out);
    m->ws1 = xmalloc(m->ws1_len ? m->ws1_len : 1);
    evbuffer_remove(out, m->ws1, m->ws1_len);
    evbuffer_free(out);
}
