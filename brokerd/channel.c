/* The loop's channel index: a channel's local subscribers, by handle
 * (b->channels), and the names that are not ids, by name (b->names).
 * A channel id is its own handle; another name gets a negative handle
 * while it has local subscribers, never one used before (docs/DESIGN.md,
 * "Channel names"). So the TCP path, which only knows ids, never looks a
 * name up. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "deliver_first.h"
#include "chan.h"
#include "keys.h"
#include "numparse.h"
#include "xmalloc.h"

/* FNV-1a; never 0 (imap's empty key). */
static int64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ? (int64_t)h : 1;
}

static struct channel *name_find(struct broker *b, const char *s, size_t len, int64_t h)
{
    for (struct channel *ch = imap_get(&b->names, h); ch; ch = ch->hnext)
        if (strlen(ch->name) == len && memcmp(ch->name, s, len) == 0)
            return ch;
    return NULL;
}

static struct channel *channel_new(struct broker *b, int64_t handle)
{
    struct channel *ch = xcalloc(1, sizeof(*ch));
    ch->id = handle;
    imap_put(&b->channels, handle, ch);
    return ch;
}

int64_t channel_handle(struct broker *b, const char *name, size_t len, int create)
{
    int64_t id, h;
    if (parse_id(name, len, &id) == 0)
        return id;
    h = name_hash(name, len);
    struct channel *ch = name_find(b, name, len, h);
    if (ch || !create)
        return ch ? ch->id : 0;
    ch = channel_new(b, --b->last_name_handle);
    ch->name = xmalloc(len + 1);
    memcpy(ch->name, name, len);
    ch->name[len] = '\0';
    ch->hnext = imap_get(&b->names, h);
    imap_put(&b->names, h, ch);
    return ch->id;
}

const char *channel_name(struct broker *b, int64_t handle, char buf[ARG_INT_MAX])
{
    if (handle > 0)
        return arg_int(buf, handle);
    struct channel *ch = imap_get(&b->channels, handle);
    return ch ? ch->name : NULL;
}

char *channel_field(struct broker *b, int64_t handle, char buf[CHAN_FIELD_MAX])
{
    char id[ARG_INT_MAX];
    const char *name = channel_name(b, handle, id);
    return name ? chan_field(buf, name, strlen(name)) : NULL;
}

void channel_free(struct broker *b, struct channel *ch)
{
    imap_del(&b->channels, ch->id);
    if (ch->name) {
        int64_t h = name_hash(ch->name, strlen(ch->name));
        struct channel *head = imap_get(&b->names, h);
        if (head == ch && ch->hnext) {
            imap_put(&b->names, h, ch->hnext);
        } else if (head == ch) {
            imap_del(&b->names, h);
        } else {
            struct channel **p = &head->hnext;
            while (*p != ch)
                p = &(*p)->hnext;
            *p = ch->hnext;
        }
        free(ch->name);
    }
    free(ch->conns);
    free(ch);
}

/* Tells Redis this broker no longer needs the channel's notices. A SUB or
 * IDENTIFY sent later on the same connection adds it back, in order. */
static void channel_forget(struct broker *b, const struct channel *ch)
{
    char key[KEY_MAX], bid[ARG_INT_MAX], id[ARG_INT_MAX];
    const char *name = channel_name(b, ch->id, id);
    rconn_cmd(&b->store.cmd, NULL, NULL, 3,
              (const char *[]){ "SREM", key_chn_brokers(key, name), arg_int(bid, b->id) },
              NULL);
}

void channel_join(struct broker *b, struct session *c, struct stream_state *s)
{
    struct channel *ch = imap_get(&b->channels, s->channel);
    if (!ch) {
        if (s->channel < 0)
            return;  /* a name's channel is made by channel_handle */
        ch = channel_new(b, s->channel);
        handoff_chan_here(b, ch->id);
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 1;
        ch->conns = xreallocarray(ch->conns, ch->cap, sizeof(*ch->conns));
    }
    s->chan_pos = ch->n;
    ch->conns[ch->n++] = c;
    pub_barrier_join(c, s);
    catch_up_stream(c, s);
}

void channel_leave(struct broker *b, struct session *c, struct stream_state *s)
{
    struct channel *ch = imap_get(&b->channels, s->channel);
    if (!ch || s->chan_pos >= ch->n || ch->conns[s->chan_pos] != c)
        return;
    struct session *moved = ch->conns[--ch->n];
    ch->conns[s->chan_pos] = moved;
    if (moved != c) {
        struct stream_state *ms = session_stream(moved, s->channel);
        if (ms)
            ms->chan_pos = s->chan_pos;
    }
    if (ch->n == 0) {
        handoff_chan_gone(b, ch->id);
        channel_forget(b, ch);
        channel_free(b, ch);
    }
}

void channel_index_free(struct broker *b)
{
    for (size_t i = 0; i < b->channels.cap; i++)
        if (b->channels.slots[i].key) {
            struct channel *ch = b->channels.slots[i].val;
            free(ch->name);
            free(ch->conns);
            free(ch);
        }
    imap_free(&b->channels);
    imap_free(&b->names);
}
