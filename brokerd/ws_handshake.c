/* The server's half of the RFC 6455 opening handshake (4.2.2): the 101
 * and its Sec-WebSocket-Accept, SHA-1 and base64 from libcrypto. */
#include <string.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "ws_handshake.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ws_accept_key(const char *key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, key, strlen(key));
    EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);  /* 20 bytes: 28 characters */
}

void ws_handshake_reply(struct evbuffer *out, const char *key)
{
    char accept[29];
    ws_accept_key(key, accept);
    evbuffer_add_printf(out,
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                        accept);
}
