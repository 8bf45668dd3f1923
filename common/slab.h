/* Fixed-size objects carved out of aligned slabs, for records that come and
 * go by the million (a fan-out's pending messages). Allocation and free are
 * a list push and pop; a slab whose objects are all free goes back to the
 * system, beyond a few kept for the next burst. One pool per event loop:
 * no locking. */
#ifndef PG_SLAB_H
#define PG_SLAB_H
#include <stddef.h>
#include <sys/queue.h>

struct slab;
LIST_HEAD(slab_list, slab);

struct slab_pool {
    size_t size;              /* bytes per object, a multiple of 16 */
    unsigned per_slab;        /* objects per slab */
    struct slab_list partial; /* slabs with at least one free object */
    struct slab_list full;    /* slabs with none */
    unsigned empty;           /* slabs on partial with every object free */
    size_t nslabs;            /* held, for tests and stats */
};

/* size: at least a pointer and at most a quarter of a slab. */
void slab_pool_init(struct slab_pool *sp, size_t size);
/* Aborts on allocation failure (daemon use). */
void *slab_alloc(struct slab_pool *sp);
void slab_free(struct slab_pool *sp, void *obj);
/* Frees every slab, with whatever objects are still in them. */
void slab_pool_destroy(struct slab_pool *sp);

#endif
