/* IDENTIFY's JSON body (SPEC 2.2), parsed and checked apart from the
 * session, so that a fuzzer can reach it alone. */
#ifndef PG_IDENTIFY_BODY_H
#define PG_IDENTIFY_BODY_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct identify_req {
    int64_t client_id;
    int64_t heartbeat;           /* seconds */
    int feature_negotiation;
    const char *token;           /* NULL: none; points into the document */
    int tls;                     /* "tls_v1": true (SPEC 2.8) */
    int deflate;                 /* "deflate": true */
    int deflate_level;           /* 1..9 */
    int anonymous;               /* a WebSocket client given a fresh id (SPEC 5.1) */
};

/* The parsed document (req->token points into it: json_decref it when
 * done), or NULL with *why saying what is wrong. */
json_t *identify_body_parse(const char *body, size_t len, struct identify_req *req,
                            const char **why);

#endif
