/* TLS through OpenSSL 3 and libevent's OpenSSL bufferevents: a server
 * context from a PEM certificate and key, a client context, and the
 * bufferevents that speak TLS over a socket or over another bufferevent
 * (SPEC 2.8: the device port upgrades its socket after IDENTIFY). */
#ifndef PG_TLS_H
#define PG_TLS_H
#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

/* A server context, TLS 1.2 or later, that releases its record buffers
 * while a connection is idle (SSL_MODE_RELEASE_BUFFERS). NULL with err
 * filled when the files do not load or do not match. */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen);
/* A client context: verifies the peer against ca_file (NULL: the system's
 * store) unless insecure. NULL with err filled. */
SSL_CTX *tls_client_ctx(const char *ca_file, int insecure, char *err, size_t errlen);

/* TLS over under (taking it: freed with the result), accepting when
 * server, else connecting to host (checked against the certificate unless
 * the context is insecure). NULL on failure, under untouched. */
struct bufferevent *tls_filter_new(struct bufferevent *under, SSL_CTX *ctx, int server,
                                   const char *host);
/* TLS on a socket set later (bufferevent_setfd), accepting: for evhttp. */
struct bufferevent *tls_socket_new(struct event_base *base, SSL_CTX *ctx);

/* The last OpenSSL error of bev's TLS layer (bev or one under it) as
 * text, for the log; "no TLS error" when there is none. */
const char *tls_error(struct bufferevent *bev, char *buf, size_t cap);

#endif
