/* POST /api bodies (SPEC 4): the request types, their fields, and the
 * order in which a malformed request is refused. */
#include <string.h>

#include "api_parse.h"

/* F_SADDR, F_DADDR, F_ID: a positive integer; F_ANY_*: present, any value
 * (SPEC 4: daddr is the broker id there, "any value is accepted"). */
enum { F_SADDR = 1, F_DADDR = 2, F_ID = 4, F_PAYLOAD = 8, F_ANY_SADDR = 16, F_ANY_DADDR = 32 };

struct api_type {
    const char *request, *reply;
    int number;                  /* the request's; its reply's is the next one */
    int fields;                  /* 0: not supported (501) */
};

static const struct api_type api_types[API_COUNT] = {
    [API_SEND] = { "MSG_SEND_REQ", "MSG_SEND_ACK", 1, F_SADDR | F_DADDR | F_ID | F_PAYLOAD },
    [API_RECV] = { "MSG_RECV_REQ", "MSG_RECV_ACK", 3, F_SADDR | F_ANY_DADDR },
    [API_FREE] = { "MSG_FREE_REQ", "MSG_FREE_ACK", 5, F_SADDR | F_ANY_DADDR | F_ID },
    [API_HELO] = { "MSG_HELO_REQ", "MSG_HELO_ACK", 9, F_SADDR | F_ANY_DADDR },
    [API_STAT] = { "MSG_STAT_REQ", "MSG_STAT_RES", 11, F_ANY_SADDR | F_ANY_DADDR },
    [API_GBYE] = { "MSG_GBYE_REQ", "MSG_GBYE_ACK", 13, F_SADDR | F_ANY_DADDR },
    [API_PUSH] = { "MSG_PUSH_REQ", "MSG_PUSH_ACK", 7, 0 },
};

/* An address or message id: a JSON integer > 0. A body with a number
 * beyond int64 is read again with every integer as a real (reals_ok): then
 * only integral values below 2^53 (exact in a double) pass. */
static int api_int(json_t *o, const char *name, int reals_ok, json_int_t *out)
{
    json_t *v = json_object_get(o, name);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v);
        return 0;
    }
    double d = json_real_value(v);
    if (reals_ok && json_is_real(v) && d >= 1 && d < 9007199254740992.0 && d == (json_int_t)d) {
        *out = (json_int_t)d;
        return 0;
    }
    return -1;
}

static int api_fields(json_t *o, int fields, int reals_ok, struct api_parsed *p)
{
    if ((fields & F_SADDR) && api_int(o, "saddr", reals_ok, &p->saddr) < 0)
        return -1;
    if ((fields & F_DADDR) && api_int(o, "daddr", reals_ok, &p->daddr) < 0)
        return -1;
    if ((fields & F_ID) && api_int(o, "id", reals_ok, &p->id) < 0)
        return -1;
    if ((fields & F_PAYLOAD) && !json_is_string(json_object_get(o, "payload")))
        return -1;
    if ((fields & F_ANY_SADDR) && !json_object_get(o, "saddr"))
        return -1;
    if ((fields & F_ANY_DADDR) && !json_object_get(o, "daddr"))
        return -1;
    return 0;
}

/* The checks of a known request type, in SPEC order; the status. */
static int api_check(struct api_parsed *p, const struct api_type *t, int reals_ok,
                     size_t max_msg_size)
{
    if (!t->fields)
        return 501;
    if (api_fields(p->doc, t->fields, reals_ok, p) < 0)
        return 400;
    if (!(t->fields & F_PAYLOAD))
        return 200;
    json_t *v = json_object_get(p->doc, "payload");
    p->payload = json_string_value(v);
    p->payload_len = json_string_length(v);
    if (p->payload_len == 0)
        return 400;
    return p->payload_len > max_msg_size ? 413 : 200;
}

void api_parse(const char *text, size_t len, size_t max_msg_size, struct api_parsed *p)
{
    json_error_t err;
    int reals = 0;
    memset(p, 0, sizeof(*p));
    p->doc = json_loadb(text, len, 0, &err);
    if (!p->doc && json_error_code(&err) == json_error_numeric_overflow) {
        /* Still a request of a known type, with a number out of range. */
        p->doc = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, NULL);
        reals = 1;
    }
    p->status = 400;
    if (!json_is_object(p->doc))
        return;
    json_t *v = json_object_get(p->doc, "msg_type");
    const char *name = json_string_value(v);
    json_int_t number = json_is_integer(v) ? json_integer_value(v) : 0;
    for (int i = 0; i < API_COUNT; i++)
        if ((name && strcmp(api_types[i].request, name) == 0) ||
            (number && number == api_types[i].number)) {
            p->type = (enum api_msg)i;
            p->reply.name = api_types[i].reply;
            p->reply.number = number ? api_types[i].number + 1 : 0;
            p->status = api_check(p, &api_types[i], reals, max_msg_size);
            return;
        }
}

json_t *api_reply_type_json(const struct api_reply_type *t)
{
    if (!t || !t->name)
        return json_null();
    return t->number ? json_integer(t->number) : json_string(t->name);
}
