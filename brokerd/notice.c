/* Notices: what Redis pub/sub tells this broker (lua/ writes them, see
 * docs/DESIGN.md). A message notice becomes a struct msg for delivery;
 * the others act on one session. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "numparse.h"

/* The notice formats (M, K, D, Q) are in docs/DESIGN.md (the table of notices); lua/lib.lua
 * writes them and this file is the one that reads them. Splits n
 * space-separated fields, the last ending at '\n'; the header's length. */
static int notice_fields(const char *p, const char *end, const char **w, size_t *wl, int n)
{
    for (int i = 0; i < n; i++) {
        const char *sp = memchr(p, i == n - 1 ? '\n' : ' ', (size_t)(end - p));
        if (!sp)
            return -1;
        w[i] = p;
        wl[i] = (size_t)(sp - p);
        p = sp + 1;
    }
    return (int)(p - w[0]);
}

static void notice_kick(struct broker *b, const char *data, size_t len)
{
    int64_t id = strtoll(data + 2, NULL, 10);
    const char *sp = memchr(data + 2, ' ', len - 2);
    if (!sp)
        return;
    struct session *c = imap_get(&b->clients, id);
    char token[SESSION_TOKEN_MAX];
    size_t nl = len - (size_t)(sp + 1 - data);
    if (c && nl != 0) {
        session_token(c, token);
        if (nl != strlen(token) || memcmp(sp + 1, token, nl) != 0)
            c = NULL;
    }
    /* The kicked connection may still be identifying (its script ran, its
     * answer is not in yet). */
    if (!c && nl != 0)
        c = identify_waiting(b, sp + 1, nl);
    if (c)
        session_replaced(c);
}

/* "D <client_id>": an administrator disconnects the device. */
static void notice_disconnect(struct broker *b, const char *data, size_t len)
{
    int64_t id;
    struct session *c;
    if (parse_id(data + 2, len - 2, &id) == 0 && (c = imap_get(&b->clients, id)) != NULL) {
        log_info("client %lld disconnected by an administrator", (long long)id);
        session_fail(c, ERR_DISCONNECTED, NULL);
    }
}

void notice_receive(struct broker *b, const char *data, size_t len)
{
    if (len < 2 || data[0] != 'M' || data[1] != ' ') {
        deliver_flush(b);
        if (len > 2 && data[0] == 'K' && data[1] == ' ')
            notice_kick(b, data, len);
        else if (len > 2 && data[0] == 'D' && data[1] == ' ')
            notice_disconnect(b, data, len);
        else if (len > 2 && data[0] == 'Q' && data[1] == ' ')
            queue_wake(b, data + 2, len - 2);
        return;
    }
    const char *w[7];
    size_t wl[7];
    int hl = notice_fields(data + 2, data + len, w, wl, 7);
    struct frame_msg_meta meta = { 0, 0, 0, 0, 1 };
    struct eid eid;
    int64_t expire = 0, to = 0, type = 0;
    if (hl < 0 || eid_parse(w[0], wl[0], &eid) < 0 ||
        parse_id(w[1], wl[1], &meta.message_id) < 0 ||
        parse_id_or_zero(w[2], wl[2], &meta.from_client_id) < 0 ||
        parse_id_or_zero(w[3], wl[3], &meta.channel_id) < 0 ||
        parse_id_or_zero(w[4], wl[4], &expire) < 0 ||
        parse_id_or_zero(w[5], wl[5], &to) < 0 ||
        parse_id_or_zero(w[6], wl[6], &type) < 0) {
        log_warn("malformed notice dropped");
        return;
    }
    meta.timestamp_ms = (int64_t)eid.ms;
    const char *body = data + 2 + hl;
    size_t body_len = len - 2 - (size_t)hl;
    struct msg *m = msg_new(&meta, eid, expire, to ? 0 : meta.channel_id, (int)type, body,
                            body_len);
    if (!to) {
        deliver_channel(b, m);
        return;
    }
    deliver_device(b, m, to);
    msg_unref(m);
}
