/* A POST /api body (SPEC 4), parsed and checked apart from HTTP and Redis,
 * so that a fuzzer reaches it alone: which request it is, its fields, or
 * the status its refusal gets. */
#ifndef PG_API_PARSE_H
#define PG_API_PARSE_H
#include <stddef.h>

#include <jansson.h>

enum api_msg { API_SEND, API_RECV, API_FREE, API_HELO, API_STAT, API_GBYE, API_PUSH, API_COUNT };

/* A reply's msg_type in the form of its request's: the name, or with
 * number set the seed's number for it (MSG_SEND_ACK = 2, ...). */
struct api_reply_type {
    const char *name;
    int number;                  /* 0: answer with the name */
};

struct api_parsed {
    int status;                  /* 200: run it; else the refusal's HTTP status */
    enum api_msg type;           /* when reply.name is set */
    struct api_reply_type reply; /* name NULL: the request type is missing or unknown */
    json_int_t saddr, daddr, id; /* those the type needs, checked */
    const char *payload;         /* MSG_SEND_REQ: 1..max_msg_size bytes, in doc */
    size_t payload_len;
    json_t *doc;                 /* the parsed body, or NULL: json_decref it when done */
};

/* A msg_type names the request, or gives its number (MSG_SEND_REQ = 1,
 * MSG_RECV_REQ = 3, ... MSG_GBYE_REQ = 13, as the seed defines them). */
void api_parse(const char *text, size_t len, size_t max_msg_size, struct api_parsed *p);

/* The reply's "msg_type" value: the name, the number, or null (t NULL). */
json_t *api_reply_type_json(const struct api_reply_type *t);

#endif
