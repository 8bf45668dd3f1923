/* Channel names (chan.h). */
#include <string.h>

#include "chan.h"
#include "numparse.h"

int chan_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > CHAN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

int chan_name_reserved(const char *s, size_t len)
{
    return len > 0 && s[0] == '$';
}

char *chan_field(char buf[CHAN_FIELD_MAX], const char *name, size_t len)
{
    int64_t id;
    size_t off = parse_id(name, len, &id) == 0 ? 0 : 1;
    buf[0] = CHAN_FIELD_PREFIX;
    memcpy(buf + off, name, len);
    buf[off + len] = '\0';
    return buf;
}

int chan_field_name(const char *f, size_t len, const char **name, size_t *nlen)
{
    int64_t id;
    if (len > 1 && f[0] == CHAN_FIELD_PREFIX && chan_name_valid(f + 1, len - 1)) {
        *name = f + 1;
        *nlen = len - 1;
        return 0;
    }
    if (parse_id(f, len, &id) < 0)
        return -1;
    *name = f;
    *nlen = len;
    return 0;
}
