/* imap: int64 -> pointer, open addressing with backward-shift deletion.
 * Collisions are built from the map itself: a key's home slot is where it
 * lands in a map that holds nothing else. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap.h"

/* A distinct, never-dereferenced value for key k. */
#define VAL(k) ((void *)(uintptr_t)(0x1000 + (uint64_t)(k) * 8))

/* The slot key lands in, in a map of 16 slots holding nothing else. */
static size_t home16(int64_t key)
{
    struct imap m;
    imap_init(&m);
    imap_put(&m, key, VAL(key));
    cr_assert_eq(m.cap, 16);
    size_t at = m.cap;
    for (size_t i = 0; i < m.cap; i++)
        if (m.slots[i].key == key)
            at = i;
    imap_free(&m);
    cr_assert_lt(at, 16);
    return at;
}

/* The first n keys from 1 up whose home (of 16) is `home`. */
static void keys_with_home(size_t home, int64_t *out, size_t n)
{
    size_t got = 0;
    for (int64_t k = 1; got < n; k++)
        if (home16(k) == home)
            out[got++] = k;
}

/* A new map with n keys whose home is `home`, put in order: k[0] at home,
 * the others probing on. */
static void map_with_run(struct imap *m, size_t home, int64_t *k, size_t n)
{
    keys_with_home(home, k, n);
    imap_init(m);
    for (size_t i = 0; i < n; i++)
        imap_put(m, k[i], VAL(k[i]));
}

static size_t slot_of(const struct imap *m, int64_t key)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key == key)
            return i;
    cr_assert_fail("key %lld not in any slot", (long long)key);
    return 0;
}

/* Asserts that key k[i] sits in slot at[i] and is found, for each i < n. */
static void assert_slots(const struct imap *m, const int64_t *k, const size_t *at, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(slot_of(m, k[i]), at[i], "key %zu", i);
        cr_assert_eq(imap_get(m, k[i]), VAL(k[i]), "key %zu", i);
    }
}

Test(imap, empty_map_has_nothing)
{
    struct imap m;
    imap_init(&m);
    cr_assert_eq(m.cap, 0);
    cr_assert_eq(m.count, 0);
    cr_assert_null(m.slots);
    cr_assert_null(imap_get(&m, 1));
    cr_assert_null(imap_del(&m, 1));
    cr_assert_eq(m.count, 0);
    imap_free(&m);
    cr_assert_eq(m.cap, 0);
}

Test(imap, put_get_replace_delete)
{
    struct imap m;
    imap_init(&m);
    imap_put(&m, 42, VAL(1));
    cr_assert_eq(m.count, 1);
    cr_assert_eq(imap_get(&m, 42), VAL(1));
    cr_assert_null(imap_get(&m, 43));
    imap_put(&m, 42, VAL(2));                 /* replaces, not a second entry */
    cr_assert_eq(m.count, 1);
    cr_assert_eq(imap_get(&m, 42), VAL(2));
    cr_assert_null(imap_del(&m, 43));
    cr_assert_eq(m.count, 1);
    cr_assert_eq(imap_del(&m, 42), VAL(2));
    cr_assert_eq(m.count, 0);
    cr_assert_null(imap_get(&m, 42));
    cr_assert_null(imap_del(&m, 42));
    imap_free(&m);
}

Test(imap, a_null_value_is_stored_but_reads_as_absent)
{
    struct imap m;
    imap_init(&m);
    imap_put(&m, 7, NULL);
    cr_assert_eq(m.count, 1);
    cr_assert_null(imap_get(&m, 7));
    cr_assert_null(imap_del(&m, 7));
    cr_assert_eq(m.count, 0);
    imap_free(&m);
}

Test(imap, negative_and_extreme_keys)
{
    static const int64_t keys[] = { -1, INT64_MIN, INT64_MAX, 1, -9000000000000000000 };
    struct imap m;
    imap_init(&m);
    for (size_t i = 0; i < 5; i++)
        imap_put(&m, keys[i], VAL(i + 1));
    cr_assert_eq(m.count, 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(imap_get(&m, keys[i]), VAL(i + 1), "key %lld", (long long)keys[i]);
    cr_assert_eq(imap_del(&m, INT64_MIN), VAL(2));
    cr_assert_null(imap_get(&m, INT64_MIN));
    cr_assert_eq(imap_get(&m, INT64_MAX), VAL(3));
    cr_assert_eq(m.count, 4);
    imap_free(&m);
}

Test(imap, grows_to_keep_the_load_under_three_quarters)
{
    struct imap m;
    imap_init(&m);
    imap_put(&m, 1, VAL(1));
    cr_assert_eq(m.cap, 16);
    for (int64_t k = 2; k <= 12; k++)
        imap_put(&m, k, VAL(k));
    cr_assert_eq(m.cap, 16);                   /* 12 of 16 */
    imap_put(&m, 13, VAL(13));
    cr_assert_eq(m.cap, 32);
    for (int64_t k = 14; k <= 24; k++)
        imap_put(&m, k, VAL(k));
    cr_assert_eq(m.cap, 32);                   /* 24 of 32 */
    imap_put(&m, 25, VAL(25));
    cr_assert_eq(m.cap, 64);
    cr_assert_eq(m.count, 25);
    for (int64_t k = 1; k <= 25; k++)
        cr_assert_eq(imap_get(&m, k), VAL(k), "key %lld after growth", (long long)k);
    for (int64_t k = 1; k <= 25; k++)
        imap_del(&m, k);
    cr_assert_eq(m.count, 0);
    cr_assert_eq(m.cap, 64);                   /* it never shrinks */
    imap_free(&m);
}

/* Colliding keys probe on to the next slots; deleting the first shifts
 * the rest of the run back. */
Test(imap, collisions_probe_on_and_delete_shifts_back)
{
    int64_t k[3];
    struct imap m;
    map_with_run(&m, 5, k, 3);
    assert_slots(&m, k, (size_t[]){ 5, 6, 7 }, 3);
    cr_assert_eq(imap_del(&m, k[0]), VAL(k[0]));
    assert_slots(&m, k + 1, (size_t[]){ 5, 6 }, 2);
    cr_assert_eq(m.slots[7].key, 0);
    cr_assert_eq(m.count, 2);
    imap_free(&m);
}

/* A key at its own home is not moved into an earlier hole. */
Test(imap, delete_leaves_keys_at_home_in_place)
{
    int64_t a[2], b;
    struct imap m;
    map_with_run(&m, 5, a, 2);       /* at 5 and 6 */
    keys_with_home(7, &b, 1);
    imap_put(&m, b, VAL(b));         /* at 7, its home */
    cr_assert_eq(imap_del(&m, a[0]), VAL(a[0]));
    assert_slots(&m, (int64_t[]){ a[1], b }, (size_t[]){ 5, 7 }, 2);
    cr_assert_eq(m.slots[6].key, 0);
    imap_free(&m);
}

Test(imap, runs_wrap_around_the_end)
{
    int64_t k[3];
    struct imap m;
    map_with_run(&m, 15, k, 3);
    assert_slots(&m, k, (size_t[]){ 15, 0, 1 }, 3);
    cr_assert_eq(imap_del(&m, k[0]), VAL(k[0]));
    assert_slots(&m, k + 1, (size_t[]){ 15, 0 }, 2);
    cr_assert_eq(imap_del(&m, k[1]), VAL(k[1]));
    assert_slots(&m, k + 2, (size_t[]){ 15 }, 1);
    cr_assert_eq(m.count, 1);
    imap_free(&m);
}

Test(imap, iteration_visits_each_key_once)
{
    enum { N = 1000 };
    struct imap m;
    imap_init(&m);
    for (int64_t k = 1; k <= N; k++)
        imap_put(&m, k * 7919, VAL(k));
    for (int64_t k = 2; k <= N; k += 2)
        imap_del(&m, k * 7919);
    unsigned char seen[N + 1] = { 0 };
    size_t visited = 0;
    for (size_t i = 0; i < m.cap; i++)
        if (m.slots[i].key) {
            int64_t k = m.slots[i].key / 7919;
            cr_assert_eq(m.slots[i].key % 7919, 0);
            cr_assert(k >= 1 && k <= N && k % 2 == 1, "unexpected key %lld", (long long)k);
            cr_assert_eq(m.slots[i].val, VAL(k));
            cr_assert_eq(seen[k], 0, "key %lld twice", (long long)k);
            seen[k] = 1;
            visited++;
        }
    cr_assert_eq(visited, N / 2);
    cr_assert_eq(m.count, N / 2);
    imap_free(&m);
}

/* Many keys, sequential ids (the common case) and scattered ones, put and
 * deleted in an interleaved order, against a plain array. */
Test(imap, many_keys_against_a_reference)
{
    enum { N = 20000 };
    int64_t *keys = malloc(N * sizeof(*keys));
    unsigned char *in = calloc(N, 1);
    for (int i = 0; i < N; i++)
        keys[i] = i % 2 ? i + 1 : -(int64_t)((uint64_t)i * 0x9e3779b97f4a7c15ULL >> 1) - 1;
    struct imap m;
    imap_init(&m);
    for (int i = 0; i < N; i++) {
        imap_put(&m, keys[i], VAL(i));
        in[i] = 1;
        if (i % 3 == 2) {
            imap_del(&m, keys[i - 1]);
            in[i - 1] = 0;
        }
    }
    size_t want = 0;
    for (int i = 0; i < N; i++) {
        want += in[i];
        if (in[i])
            cr_assert_eq(imap_get(&m, keys[i]), VAL(i), "key %lld", (long long)keys[i]);
        else
            cr_assert_null(imap_get(&m, keys[i]), "key %lld", (long long)keys[i]);
    }
    cr_assert_eq(m.count, want);
    cr_assert_eq(want, N - N / 3);
    cr_assert_eq(m.cap, 32768);
    free(keys);
    free(in);
    imap_free(&m);
}
