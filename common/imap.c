#include "imap.h"

#include <stdlib.h>

#include "xmalloc.h"

static size_t imap_hash(int64_t key, size_t mask)
{
    /* splitmix64 finaliser: ids are often sequential. */
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x & mask;
}

void imap_init(struct imap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void imap_free(struct imap *m)
{
    free(m->slots);
    imap_init(m);
}

static struct imap_slot *imap_find(const struct imap *m, int64_t key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = imap_hash(key, mask);; i = (i + 1) & mask) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (m->slots[i].key == 0)
            return NULL;
    }
}

void *imap_get(const struct imap *m, int64_t key)
{
    struct imap_slot *s = imap_find(m, key);
    return s ? s->val : NULL;
}

static void imap_insert_slot(struct imap *m, int64_t key, void *val)
{
    size_t mask = m->cap - 1;
    size_t i = imap_hash(key, mask);
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (m->slots[i].key == 0)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].val = val;
}

static void imap_grow(struct imap *m)
{
    struct imap_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->cap = oldcap ? oldcap * 2 : 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->count = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key != 0)
            imap_insert_slot(m, old[i].key, old[i].val);
    free(old);
}

void imap_put(struct imap *m, int64_t key, void *val)
{
    /* Keep the load under 3/4 so probes stay short. */
    if ((m->count + 1) * 4 > m->cap * 3)
        imap_grow(m);
    imap_insert_slot(m, key, val);
}

void *imap_del(struct imap *m, int64_t key)
{
    struct imap_slot *s = imap_find(m, key);
    if (s == NULL)
        return NULL;
    void *val = s->val;
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(s - m->slots);
    /* Backward-shift: move later members of the probe run into the hole. */
    for (size_t j = (hole + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = imap_hash(m->slots[j].key, mask);
        /* Move j to hole if home is not cyclically in (hole, j]. */
        int in_between = (hole <= j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_between) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = 0;
    m->slots[hole].val = NULL;
    m->count--;
    return val;
}
