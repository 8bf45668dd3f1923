/* Slabs are SLAB_BYTES long and aligned to SLAB_BYTES, so an object finds
 * its slab by masking its own address: no per-object header. They are
 * mapped from the kernel directly, not taken from malloc: an aligned
 * malloc leaves a hole beside every slab, a fifth more memory per object
 * in a test, while an unused page of a mapping costs nothing, and an
 * unmapped slab goes straight back to the system. Objects are carved from
 * a new slab only as they are needed, so its pages are touched in turn. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "slab.h"

#define SLAB_BYTES (128 * 1024)
/* Fully free slabs kept for the next burst instead of going back. */
#define SLAB_KEEP_EMPTY 4

struct slab_free {
    struct slab_free *next;
};

struct slab {
    LIST_ENTRY(slab) link;
    struct slab_free *free;   /* objects given back */
    unsigned nfree;           /* given back, plus never carved */
    unsigned carved;          /* objects handed out at least once */
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

/* Twice the size is mapped, and what lies outside the aligned middle is
 * unmapped again. */
static struct slab *slab_map(void)
{
    char *p = mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "fatal: mmap of a %d-byte slab: out of memory\n", 2 * SLAB_BYTES);
        abort();
    }
    char *s = (char *)(((uintptr_t)p + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1));
    if (s > p)
        munmap(p, (size_t)(s - p));
    if (s + SLAB_BYTES < p + 2 * SLAB_BYTES)
        munmap(s + SLAB_BYTES, (size_t)(p + 2 * SLAB_BYTES - (s + SLAB_BYTES)));
    return (struct slab *)s;
}

static struct slab *slab_new(struct slab_pool *sp)
{
    struct slab *s = slab_map();
    s->free = NULL;
    s->nfree = sp->per_slab;
    s->carved = 0;
    sp->nslabs++;
    sp->empty++;
    LIST_INSERT_HEAD(&sp->partial, s, link);
    return s;
}

void *slab_alloc(struct slab_pool *sp)
{
    struct slab *s = LIST_FIRST(&sp->partial);
    void *obj;
    if (!s)
        s = slab_new(sp);
    if (s->nfree == sp->per_slab)
        sp->empty--;
    if (s->free) {
        obj = s->free;
        s->free = s->free->next;
    } else {
        obj = (char *)s + SLAB_HEAD + (size_t)s->carved++ * sp->size;
    }
    if (--s->nfree == 0) {
        LIST_REMOVE(s, link);
        LIST_INSERT_HEAD(&sp->full, s, link);
    }
    return obj;
}

void slab_free(struct slab_pool *sp, void *obj)
{
    struct slab *s = (struct slab *)((uintptr_t)obj & ~(uintptr_t)(SLAB_BYTES - 1));
    struct slab_free *f = obj;
    assert(s->nfree < sp->per_slab);   /* a double free, caught when it overflows */
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
    munmap(s, SLAB_BYTES);
    sp->nslabs--;
}

static void slab_list_free(struct slab_list *l)
{
    struct slab *s;
    while ((s = LIST_FIRST(l)) != NULL) {
        LIST_REMOVE(s, link);
        munmap(s, SLAB_BYTES);
    }
}

void slab_pool_destroy(struct slab_pool *sp)
{
    slab_list_free(&sp->partial);
    slab_list_free(&sp->full);
    sp->empty = 0;
    sp->nslabs = 0;
}
