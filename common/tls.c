/* tls.h over OpenSSL 3 and libevent_openssl. */
#include "tls.h"

#include <stdio.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* 4 KiB with libevent's chain header: one 4096-byte malloc. */
#define TLS_READ_CHUNK (4096 - 128)

static void tls_err(char *err, size_t errlen, const char *what, const char *file)
{
    char why[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, file ? file : "", e ? why : "failed");
}

/* What both sides share: TLS 1.2 or later, and no record buffers kept by
 * an idle connection (about 34 KB each otherwise). */
static SSL_CTX *tls_ctx_new(const SSL_METHOD *method, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        tls_err(err, errlen, "SSL_CTX_new", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_ctx_new(TLS_server_method(), err, errlen);
    if (!ctx)
        return NULL;
    /* Devices reconnect with a full handshake: no session cache nor
     * tickets to keep per connection. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_err(err, errlen, "cannot load the certificate", cert_file);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        tls_err(err, errlen, "cannot load the key", key_file);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_err(err, errlen, "the key does not match the certificate", key_file);
    } else {
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_client_ctx(const char *ca_file, int insecure, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_ctx_new(TLS_client_method(), err, errlen);
    if (!ctx || insecure)
        return ctx;
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        tls_err(err, errlen, "cannot load the CA file", ca_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static SSL *tls_ssl_new(SSL_CTX *ctx, int server, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || server || !host)
        return ssl;
    /* SNI, and the name the certificate must carry when verifying. */
    SSL_set_tlsext_host_name(ssl, host);
    if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
        X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        /* An address is checked against the IP names, a name against DNS. */
        if (!X509_VERIFY_PARAM_set1_ip_asc(p, host)) {
            ERR_clear_error();
            X509_VERIFY_PARAM_set1_host(p, host, 0);
        }
    }
    return ssl;
}

struct bufferevent *tls_filter_new(struct bufferevent *under, SSL_CTX *ctx, int server,
                                   const char *host)
{
    SSL *ssl = tls_ssl_new(ctx, server, host);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_filter_new(
        bufferevent_get_base(under), under, ssl,
        server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A peer that closes without close_notify has just closed. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    /* Before each SSL_read the filter reserves room for a whole read in its
     * input (16 KB by default, a 32 KB chunk) and leaves it there, empty,
     * when no record was whole; as its input's watermark callback enables
     * reading again whenever the reader drains it, every idle connection
     * kept one (docs/PERFORMANCE.md). Reads of at most one 4 KB chunk: a
     * full record takes four SSL_reads instead of one. */
    bufferevent_set_max_single_read(bev, TLS_READ_CHUNK);
    return bev;
}

struct bufferevent *tls_socket_new(struct event_base *base, SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

const char *tls_error(struct bufferevent *bev, char *buf, size_t cap)
{
    /* The TLS layer may be under another (deflate). */
    for (; bev; bev = bufferevent_get_underlying(bev)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (!e)
            continue;
        ERR_error_string_n(e, buf, cap);
        while (bufferevent_get_openssl_error(bev))
            ;
        return buf;
    }
    return "no TLS error";
}
