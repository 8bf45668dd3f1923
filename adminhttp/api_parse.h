/* A POST /api body (SPEC 4), parsed and checked apart from HTTP and Redis,
 * so that a fuzzer reaches it alone: which request it is, its fields, or
 * the status its refusal gets. */
#ifndef PG_API_PARSE_H
#define PG_API_PARSE_H
#include <stddef.h>

#include <jansson.h>

enum api_msg { API_SEND, API_RECV, API_FREE, API_HELO, API_STAT, API_GBYE, API_PUSH, API_COUNT };

struct api_parsed {
    int status;                  /* 200: run it; else the refusal's HTTP status */
    enum api_msg type;           /* when reply_type is set */
    const char *reply_type;      /* NULL: the request type is missing or unknown */
    json_int_t saddr, daddr, id; /* those the type needs, checked */
    const char *payload;         /* MSG_SEND_REQ: 1..max_msg_size bytes, in doc */
    size_t payload_len;
    json_t *doc;                 /* the parsed body, or NULL: json_decref it when done */
};

void api_parse(const char *text, size_t len, size_t max_msg_size, struct api_parsed *p);

#endif
