/* The shape of the scripts' replies (scripts.h). */
#include <string.h>

#include <hiredis/hiredis.h>

#include "scripts.h"

const char *script_status(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return NULL;
    return r->element[0]->str;
}

int script_ok(const redisReply *r, size_t n)
{
    const char *s = script_status(r);
    return s && strcmp(s, "ok") == 0 && r->elements == n + 1;
}
