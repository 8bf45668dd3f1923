/* The slab pool: objects are distinct, reused, and whole slabs go back to
 * malloc once free, beyond the few kept for the next burst. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

/* (131072 - 64) / 64: the objects of one slab of brokerd's pending records. */
#define PER_SLAB_64 2047

Test(slab, object_size_rounds_to_16_and_fills_a_slab)
{
    struct slab_pool sp;
    slab_pool_init(&sp, 60);
    cr_assert_eq(sp.size, 64);
    cr_assert_eq(sp.per_slab, PER_SLAB_64);
    cr_assert_eq(sp.nslabs, 0);
    slab_pool_destroy(&sp);
}

Test(slab, objects_are_distinct_aligned_and_writable)
{
    enum { N = 3 * PER_SLAB_64 + 1 };
    struct slab_pool sp;
    unsigned char **objs = calloc(N, sizeof(*objs));
    slab_pool_init(&sp, 64);
    for (int i = 0; i < N; i++) {
        objs[i] = slab_alloc(&sp);
        cr_assert_eq((uintptr_t)objs[i] % 16, 0);
        memset(objs[i], i & 0xff, 64);
    }
    cr_assert_eq(sp.nslabs, 4);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 64; k++)
            cr_assert_eq(objs[i][k], i & 0xff, "object %d byte %d", i, k);
    for (int i = 0; i < N; i++)
        slab_free(&sp, objs[i]);
    slab_pool_destroy(&sp);
    free(objs);
}

Test(slab, a_freed_object_is_the_next_one_given)
{
    struct slab_pool sp;
    slab_pool_init(&sp, 64);
    void *a = slab_alloc(&sp), *b = slab_alloc(&sp);
    slab_free(&sp, a);
    cr_assert_eq(slab_alloc(&sp), a);
    cr_assert_neq(a, b);
    cr_assert_eq(sp.nslabs, 1);
    slab_pool_destroy(&sp);
}

Test(slab, free_slabs_go_back_beyond_four)
{
    enum { SLABS = 10, N = SLABS * PER_SLAB_64 };
    struct slab_pool sp;
    void **objs = calloc(N, sizeof(*objs));
    slab_pool_init(&sp, 64);
    for (int i = 0; i < N; i++)
        objs[i] = slab_alloc(&sp);
    cr_assert_eq(sp.nslabs, SLABS);
    for (int i = 0; i < N; i++)
        slab_free(&sp, objs[i]);
    cr_assert_eq(sp.nslabs, 4, "kept %zu slabs", sp.nslabs);
    /* The kept slabs serve the next burst without a new one. */
    for (int i = 0; i < 4 * PER_SLAB_64; i++)
        objs[i] = slab_alloc(&sp);
    cr_assert_eq(sp.nslabs, 4);
    objs[4 * PER_SLAB_64] = slab_alloc(&sp);
    cr_assert_eq(sp.nslabs, 5);
    slab_pool_destroy(&sp);
    cr_assert_eq(sp.nslabs, 0);
    free(objs);
}

Test(slab, a_slab_with_one_object_in_use_stays)
{
    enum { SLABS = 6, N = SLABS * PER_SLAB_64 };
    struct slab_pool sp;
    void **objs = calloc(N, sizeof(*objs));
    slab_pool_init(&sp, 64);
    for (int i = 0; i < N; i++)
        objs[i] = slab_alloc(&sp);
    /* Free all but the first object of every slab. */
    for (int i = 0; i < N; i++)
        if (i % PER_SLAB_64 != 0)
            slab_free(&sp, objs[i]);
    cr_assert_eq(sp.nslabs, SLABS);
    for (int i = 0; i < N; i += PER_SLAB_64)
        slab_free(&sp, objs[i]);
    cr_assert_eq(sp.nslabs, 4);
    slab_pool_destroy(&sp);
    free(objs);
}

/* A double free that would count more free objects than the slab has
 * aborts rather than hand the slab back with objects still in use. */
Test(slab, a_free_too_many_aborts, .signal = SIGABRT)
{
    struct slab_pool sp;
    slab_pool_init(&sp, 64);
    void *a = slab_alloc(&sp);
    slab_free(&sp, a);
    slab_free(&sp, a);
}
