/* The topics a loop pops or pushes to, by name: an imap keyed by the
 * name's 64-bit FNV-1a hash, names sharing a hash chained. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "xmalloc.h"

static int64_t qtopic_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
    h &= INT64_MAX;
    return h ? (int64_t)h : 1;   /* imap keys are not 0 */
}

struct qtopic *qtopic_get(struct broker *b, const char *name, size_t len)
{
    for (struct qtopic *t = imap_get(&b->q.topics, qtopic_hash(name, len)); t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

struct qtopic *qtopic_add(struct broker *b, const char *name, size_t len)
{
    struct qtopic *t = qtopic_get(b, name, len);
    if (t || len == 0 || len > TOPIC_MAX)
        return t;
    int64_t h = qtopic_hash(name, len);
    t = xcalloc(1, sizeof(*t));
    memcpy(t->name, name, len);
    t->next = imap_get(&b->q.topics, h);
    imap_put(&b->q.topics, h, t);
    return t;
}

void qtopic_release(struct broker *b, struct qtopic *t)
{
    if (t->nsvcs || t->popping || t->pushing)
        return;
    int64_t h = qtopic_hash(t->name, strlen(t->name));
    struct qtopic *head = imap_get(&b->q.topics, h);
    if (head == t) {
        if (t->next)
            imap_put(&b->q.topics, h, t->next);
        else
            imap_del(&b->q.topics, h);
    } else {
        while (head->next != t)
            head = head->next;
        head->next = t->next;
    }
    free(t->svcs);
    free(t->envs);
    free(t->lens);
    free(t);
}
