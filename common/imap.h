/* A hash map from int64 keys (ids) to pointers, open addressing with
 * linear probing and backward-shift deletion. Keys must not be 0. */
#ifndef PG_IMAP_H
#define PG_IMAP_H
#include <stddef.h>
#include <stdint.h>

struct imap_slot {
    int64_t key;   /* 0 = empty */
    void *val;
};

struct imap {
    struct imap_slot *slots;
    size_t cap;    /* power of two, or 0 */
    size_t count;
};

void imap_init(struct imap *m);
void imap_free(struct imap *m);
void *imap_get(const struct imap *m, int64_t key);
/* Inserts or replaces. Aborts on allocation failure (daemon use). */
void imap_put(struct imap *m, int64_t key, void *val);
/* Removes key; returns its value or NULL. */
void *imap_del(struct imap *m, int64_t key);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ...
 * No imap_put or imap_del meanwhile: a put may grow the table, and a
 * delete shifts later entries back, past the loop's index. */

#endif
