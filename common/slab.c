/* Slabs are SLAB_BYTES long and aligned to SLAB_BYTES, so an object finds
 * its slab by masking its own address: no per-object header. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "slab.h"
#include "xmalloc.h"

#define SLAB_BYTES 16384
/* Fully free slabs kept for the next burst instead of going back to malloc. */
#define SLAB_KEEP_EMPTY 4

struct slab_free {
    struct slab_free *next;
};

struct slab {
    LIST_ENTRY(slab) link;
    struct slab_free *free;
    unsigned nfree;
    /* objects start at SLAB_HEAD, a cache line in */
};

#define SLAB_HEAD 64
_Static_assert(sizeof(struct slab) <= SLAB_HEAD, "slab header fits its line");

void slab_pool_init(struct slab_pool *sp, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    assert(size >= sizeof(struct slab_free) && size <= SLAB_BYTES / 4);
    sp->size = size;
    sp->per_slab = (unsigned)((SLAB_BYTES - SLAB_HEAD) / size);
    LIST_INIT(&sp->partial);
    LIST_INIT(&sp->full);
    sp->empty = 0;
    sp->nslabs = 0;
}

static struct slab *slab_new(struct slab_pool *sp)
{
    struct slab *s = xaligned_alloc(SLAB_BYTES, SLAB_BYTES);
    char *obj = (char *)s + SLAB_HEAD;
    s->free = NULL;
    /* Threaded back to front, so objects are handed out in address order. */
    for (unsigned i = sp->per_slab; i-- > 0;) {
        struct slab_free *f = (struct slab_free *)(obj + (size_t)i * sp->size);
        f->next = s->free;
        s->free = f;
    }
    s->nfree = sp->per_slab;
    sp->nslabs++;
    sp->empty++;
    LIST_INSERT_HEAD(&sp->partial, s, link);
    return s;
}

void *slab_alloc(struct slab_pool *sp)
{
    struct slab *s = LIST_FIRST(&sp->partial);
    if (!s)
        s = slab_new(sp);
    if (s->nfree == sp->per_slab)
        sp->empty--;
    struct slab_free *f = s->free;
    s->free = f->next;
    if (--s->nfree == 0) {
        LIST_REMOVE(s, link);
        LIST_INSERT_HEAD(&sp->full, s, link);
    }
    return f;
}

void slab_free(struct slab_pool *sp, void *obj)
{
    struct slab *s = (struct slab *)((uintptr_t)obj & ~(uintptr_t)(SLAB_BYTES - 1));
    struct slab_free *f = obj;
    if (s->nfree == 0) {
        LIST_REMOVE(s, link);
        LIST_INSERT_HEAD(&sp->partial, s, link);
    }
    f->next = s->free;
    s->free = f;
    if (++s->nfree < sp->per_slab)
        return;
    if (sp->empty < SLAB_KEEP_EMPTY) {
        sp->empty++;
        return;
    }
    LIST_REMOVE(s, link);
    free(s);
    sp->nslabs--;
}

static void slab_list_free(struct slab_list *l)
{
    struct slab *s;
    while ((s = LIST_FIRST(l)) != NULL) {
        LIST_REMOVE(s, link);
        free(s);
    }
}

void slab_pool_destroy(struct slab_pool *sp)
{
    slab_list_free(&sp->partial);
    slab_list_free(&sp->full);
    sp->empty = 0;
    sp->nslabs = 0;
}
