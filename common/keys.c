/* Redis key names (keys.h). */
#include <stdio.h>
#include <string.h>

#include "keys.h"

/* prefix, the id in decimal, suffix: every key with one id. */
static char *key1(char buf[KEY_MAX], const char *prefix, int64_t id, const char *suffix)
{
    snprintf(buf, KEY_MAX, "%s%lld%s", prefix, (long long)id, suffix);
    return buf;
}

char *key_dev(char buf[KEY_MAX], int64_t d) { return key1(buf, "pg:dev:", d, ""); }
char *key_dev_subs(char buf[KEY_MAX], int64_t d) { return key1(buf, "pg:dev:", d, ":subs"); }
char *key_dev_cur(char buf[KEY_MAX], int64_t d) { return key1(buf, "pg:dev:", d, ":cur"); }
char *key_dev_in(char buf[KEY_MAX], int64_t d) { return key1(buf, "pg:dev:", d, ":in"); }
/* A channel's key: "pg:ch:", its name escaped, suffix. */
static char *key_channel(char buf[KEY_MAX], const char *name, const char *suffix)
{
    size_t n = (size_t)snprintf(buf, KEY_MAX, "pg:ch:");
    for (; *name && n + 4 < KEY_MAX; name++) {
        if (*name == '%' || *name == ':')
            n += (size_t)snprintf(buf + n, KEY_MAX - n, "%%%02X", (unsigned char)*name);
        else
            buf[n++] = *name;
    }
    snprintf(buf + n, KEY_MAX - n, "%s", suffix);
    return buf;
}

/* The same for a channel id: its name is the id in decimal. */
static char *key_channel_id(char buf[KEY_MAX], int64_t c, const char *suffix)
{
    char name[ARG_INT_MAX];
    return key_channel(buf, arg_int(name, c), suffix);
}

char *key_ch(char buf[KEY_MAX], int64_t c) { return key_channel_id(buf, c, ""); }
char *key_ch_subs(char buf[KEY_MAX], int64_t c) { return key_channel_id(buf, c, ":subs"); }
char *key_ch_brokers(char buf[KEY_MAX], int64_t c) { return key_channel_id(buf, c, ":brokers"); }
char *key_chn(char buf[KEY_MAX], const char *n) { return key_channel(buf, n, ""); }
char *key_chn_subs(char buf[KEY_MAX], const char *n) { return key_channel(buf, n, ":subs"); }
char *key_chn_brokers(char buf[KEY_MAX], const char *n) { return key_channel(buf, n, ":brokers"); }
char *key_chn_subs_types(char buf[KEY_MAX], const char *n)
{
    return key_channel(buf, n, ":subs:types");
}
char *key_bk(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:bk:", b, ""); }
char *key_notice(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:n:bk:", b, ""); }
char *key_dups(char buf[KEY_MAX], int64_t from) { return key1(buf, "pg:dups:", from, ""); }

char *key_dupw(char buf[KEY_MAX], int64_t from) { return key1(buf, "pg:dupw:", from, ""); }

char *key_mesh_dup(char buf[KEY_MAX], int64_t from, int64_t mid)
{
    if (from == 0)  /* every service: one sender of its own */
        snprintf(buf, KEY_MAX, "pg:mdup:s:%lld", (long long)mid);
    else
        snprintf(buf, KEY_MAX, "pg:mdup:%lld:%lld", (long long)from, (long long)mid);
    return buf;
}

char *key_stream(char buf[KEY_MAX], int64_t device, int64_t channel)
{
    return channel ? key_ch(buf, channel) : key_dev_in(buf, device);
}

char *arg_int(char buf[ARG_INT_MAX], int64_t v)
{
    snprintf(buf, ARG_INT_MAX, "%lld", (long long)v);
    return buf;
}

char *key_dev_freed(char buf[KEY_MAX], int64_t d) { return key1(buf, "pg:dev:", d, ":freed"); }
char *key_ch_subs_types(char buf[KEY_MAX], int64_t c)
{
    return key_channel_id(buf, c, ":subs:types");
}

char *key_serial(char buf[KEY_SERIAL_MAX], int64_t type, const char *serial)
{
    if (strlen(serial) > SERIAL_MAX)
        return NULL;
    snprintf(buf, KEY_SERIAL_MAX, "pg:serial:%lld:%s", (long long)type, serial);
    return buf;
}

static char *key_topic(char buf[KEY_TOPIC_MAX], const char *topic, const char *suffix)
{
    if (strlen(topic) > TOPIC_MAX)
        return NULL;
    snprintf(buf, KEY_TOPIC_MAX, "pg:q:%s%s", topic, suffix);
    return buf;
}

char *key_q(char buf[KEY_TOPIC_MAX], const char *t) { return key_topic(buf, t, ""); }
char *key_q_bk(char buf[KEY_TOPIC_MAX], const char *t) { return key_topic(buf, t, ":bk"); }
char *key_qf(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:qf:", b, ""); }
char *key_qf_z(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:qf:", b, ":z"); }
char *key_qf_n(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:qf:", b, ":n"); }

char *key_online_bk(char buf[KEY_MAX], int64_t b) { return key1(buf, "pg:online:bk:", b, ""); }

char *arg_online(char buf[ARG_INT_MAX], int64_t id)
{
    snprintf(buf, ARG_INT_MAX, "%019lld", (long long)id);
    return buf;
}

int64_t arg_online_id(const char *member, size_t len)
{
    int64_t v = 0;
    if (len != 19)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (member[i] < '0' || member[i] > '9')
            return -1;
        if (v > (INT64_MAX - (member[i] - '0')) / 10)
            return -1;
        v = v * 10 + (member[i] - '0');
    }
    return v > 0 ? v : -1;
}
