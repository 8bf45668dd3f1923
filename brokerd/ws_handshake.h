/* The RFC 6455 opening handshake's reply (ws_handshake.c), apart so that
 * a unit test reaches it. */
#ifndef PG_WS_HANDSHAKE_H
#define PG_WS_HANDSHAKE_H

struct evbuffer;

/* The Sec-WebSocket-Accept of key: 28 characters and a NUL. */
void ws_accept_key(const char *key, char out[29]);
/* The 101 reply for key, into out. */
void ws_handshake_reply(struct evbuffer *out, const char *key);

#endif
