/* test_hashmap: the string-keyed open-addressing map (server/core/hashmap.c).
 *
 * Covers what hashmap.h promises:
 *   - an empty (just initialised, or freed) map: get/remove find nothing,
 *     iteration yields nothing, and the map is usable again after free;
 *   - put inserts or replaces (count unchanged on replace), keys are compared
 *     by (pointer, length) content, not by pointer, and may hold NUL bytes or
 *     be empty; a key longer than UINT32_MAX is refused;
 *   - remove returns the removed value (NULL when absent);
 *   - 100k keys across many rehashes (growth) then deleting them all (with
 *     the shrinking rehashes): every key found, every removed key gone;
 *   - iteration visits every entry exactly once, with its key and value;
 *   - randomized comparison against a naive reference on a small key space,
 *     so that probe runs are long and wrap around the table end (the
 *     backward-shift deletion is where open addressing usually breaks). After
 *     every operation the table's own invariants are checked: count matches
 *     the occupied slots, and no empty slot lies between any entry and its
 *     home bucket (otherwise a lookup stopping at that hole would miss it);
 *   - each map is seeded separately.
 * Memory: the CI runs this under ASan with detect_leaks=1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hashmap.h"

CHECK_STATE;

/* A deterministic PRNG (xorshift64*) so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static void *get_s(const hashmap *m, const char *k) { return hashmap_get(m, k, strlen(k)); }
static int put_s(hashmap *m, const char *k, void *v) { return hashmap_put(m, k, strlen(k), v); }
static void *remove_s(hashmap *m, const char *k) { return hashmap_remove(m, k, strlen(k)); }

/* The table's structural invariants (the struct is public): cap a power of
 * two, load at most 3/4, count == occupied slots, stored hash/len coherent
 * with the slot, and every entry reachable from its home bucket without
 * crossing an empty slot. Returns 1 when all hold. */
static int table_ok(const hashmap *m)
{
    if (m->cap == 0)
        return m->count == 0 && m->slots == NULL;
    if (m->cap & (m->cap - 1))
        return 0;
    if (m->count * 4 > m->cap * 3)
        return 0;
    size_t used = 0, mask = m->cap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        const hashmap_slot *s = &m->slots[i];
        if (!s->key)
            continue;
        used++;
        for (size_t j = s->hash & mask; j != i; j = (j + 1) & mask)
            if (!m->slots[j].key)
                return 0; /* a hole in the probe run: lookups would stop there */
        if (hashmap_get(m, s->key, s->key_len) != s->value)
            return 0;
    }
    return used == m->count;
}

static void test_empty(void)
{
    hashmap m;
    CHECK(hashmap_init(&m) == 0);
    CHECK(m.count == 0 && m.cap == 0);
    CHECK(get_s(&m, "x") == NULL);
    CHECK(hashmap_get(&m, "", 0) == NULL);
    CHECK(remove_s(&m, "x") == NULL);
    CHECK(m.count == 0);
    size_t it = 0;
    const char *k = NULL;
    size_t kl = 0;
    void *v = NULL;
    CHECK(hashmap_next(&m, &it, &k, &kl, &v) == 0);
    CHECK(table_ok(&m));
    hashmap_free(&m);
    hashmap_free(&m); /* freeing twice is harmless: the table pointer is reset */
    CHECK(m.slots == NULL && m.cap == 0 && m.count == 0);
    /* a freed map is an empty map again, usable without a new init */
    int one = 1;
    CHECK(put_s(&m, "again", &one) == 0);
    CHECK(get_s(&m, "again") == &one && m.count == 1);
    hashmap_free(&m);
}

static void test_basics(void)
{
    hashmap m;
    hashmap_init(&m);
    int a = 1, b = 2, c = 3, d = 4, e = 5;
    CHECK(put_s(&m, "a", &a) == 0);
    CHECK(put_s(&m, "ab", &b) == 0);   /* a longer key sharing a prefix */
    CHECK(hashmap_put(&m, "", 0, &c) == 0); /* the empty key is a key */
    CHECK(m.count == 3);
    CHECK(get_s(&m, "a") == &a);
    CHECK(get_s(&m, "ab") == &b);
    CHECK(hashmap_get(&m, "", 0) == &c);
    CHECK(get_s(&m, "abc") == NULL);
    CHECK(hashmap_get(&m, "ab", 1) == &a); /* length decides, not the NUL */

    /* keys with embedded NUL bytes differ by their bytes after the NUL */
    static const char k1[] = {'x', '\0', '1'}, k2[] = {'x', '\0', '2'};
    CHECK(hashmap_put(&m, k1, sizeof(k1), &d) == 0);
    CHECK(hashmap_put(&m, k2, sizeof(k2), &e) == 0);
    CHECK(hashmap_get(&m, k1, sizeof(k1)) == &d);
    CHECK(hashmap_get(&m, k2, sizeof(k2)) == &e);
    CHECK(get_s(&m, "x") == NULL);
    CHECK(m.count == 5);

    /* lookups compare content: a different buffer with the same bytes finds it */
    char probe[8];
    strcpy(probe, "ab");
    CHECK(hashmap_get(&m, probe, 2) == &b);

    /* replace: same count, new value, and the entry now keeps the new key
     * pointer (the old one may die with its previous owner) */
    char newkey[4] = "ab";
    CHECK(hashmap_put(&m, newkey, 2, &e) == 0);
    CHECK(m.count == 5 && get_s(&m, "ab") == &e);
    size_t it = 0, kl;
    const char *k;
    void *v;
    int saw_newkey = 0;
    while (hashmap_next(&m, &it, &k, &kl, &v))
        if (v == &e && kl == 2)
            saw_newkey = k == newkey;
    CHECK(saw_newkey);

    /* a NULL value is stored, though get cannot tell it from absence */
    CHECK(put_s(&m, "null", NULL) == 0 && m.count == 6);
    CHECK(remove_s(&m, "null") == NULL && m.count == 5);

    /* remove returns the value, once */
    CHECK(remove_s(&m, "a") == &a);
    CHECK(remove_s(&m, "a") == NULL);
    CHECK(get_s(&m, "a") == NULL && get_s(&m, "ab") == &e);
    CHECK(hashmap_remove(&m, "", 0) == &c);
    CHECK(m.count == 3);

    /* a key length the slot cannot record is refused before it is read */
    CHECK(hashmap_put(&m, "k", (size_t)UINT32_MAX + 1, &a) == -1);
    CHECK(m.count == 3);
    CHECK(table_ok(&m));
    hashmap_free(&m);
}

/* 100k keys: growth through many rehashes, iteration, removal of all. */
#define MANY 100000
static void test_many(void)
{
    hashmap m;
    hashmap_init(&m);
    char (*keys)[16] = malloc(MANY * sizeof(*keys));
    unsigned char *seen = calloc(MANY, 1);
    size_t *vals = malloc(MANY * sizeof(*vals));
    for (size_t i = 0; i < MANY; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
        vals[i] = i;
    }
    int put_failed = 0;
    size_t caps_seen = 0, last_cap = 0;
    for (size_t i = 0; i < MANY; i++) {
        if (put_s(&m, keys[i], &vals[i]))
            put_failed++;
        if (m.cap != last_cap) {
            caps_seen++;
            last_cap = m.cap;
        }
    }
    CHECK(put_failed == 0);
    CHECK(m.count == MANY);
    CHECK(caps_seen >= 10); /* 16 .. 262144: it really rehashed along the way */
    CHECK(table_ok(&m));

    int missing = 0;
    for (size_t i = 0; i < MANY; i++)
        if (get_s(&m, keys[i]) != &vals[i])
            missing++;
    CHECK(missing == 0);
    CHECK(get_s(&m, "key-100000") == NULL && get_s(&m, "key-") == NULL);

    /* iteration: every entry once, with its own key */
    size_t it = 0, kl, visits = 0;
    int twice = 0, wrong_key = 0;
    const char *k;
    void *v;
    while (hashmap_next(&m, &it, &k, &kl, &v)) {
        size_t i = *(size_t *)v;
        visits++;
        if (seen[i]++)
            twice++;
        if (k != keys[i] || kl != strlen(keys[i]))
            wrong_key++;
    }
    CHECK(visits == MANY && twice == 0 && wrong_key == 0);
    CHECK(hashmap_next(&m, &it, &k, &kl, &v) == 0); /* stays at the end */

    /* remove the odd keys, check the even ones survive and odd ones are gone */
    int bad_remove = 0;
    for (size_t i = 1; i < MANY; i += 2)
        if (remove_s(&m, keys[i]) != &vals[i])
            bad_remove++;
    CHECK(bad_remove == 0 && m.count == MANY / 2);
    missing = 0;
    for (size_t i = 0; i < MANY; i++)
        if (get_s(&m, keys[i]) != (i % 2 ? NULL : &vals[i]))
            missing++;
    CHECK(missing == 0);
    CHECK(table_ok(&m));

    /* remove all (the even ones, from the end): the table shrinks as it empties */
    bad_remove = 0;
    for (size_t i = MANY; i-- > 0;)
        if (i % 2 == 0 && remove_s(&m, keys[i]) != &vals[i])
            bad_remove++;
    CHECK(bad_remove == 0 && m.count == 0);
    CHECK(m.cap <= 1024); /* hashmap.c gives memory back below 1/8 load */
    it = 0;
    CHECK(hashmap_next(&m, &it, &k, &kl, &v) == 0);
    CHECK(get_s(&m, keys[0]) == NULL);
    CHECK(table_ok(&m));
    hashmap_free(&m);
    free(vals);
    free(seen);
    free(keys);
}

/* Randomized against a naive reference: NKEYS candidate keys, a present flag
 * and the expected value each. The small key space keeps a 16..64-slot table
 * where probe runs are long and wrap around. */
#define NKEYS 48
static void test_random(void)
{
    static char keys[NKEYS][8];
    static int ref_present[NKEYS];
    static void *ref_value[NKEYS];
    static int tokens[4];
    for (int i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "r%d", i);

    int mismatches = 0, broken = 0, iter_bad = 0;
    for (int round = 0; round < 20; round++) {
        hashmap m;
        hashmap_init(&m);
        memset(ref_present, 0, sizeof(ref_present));
        size_t ref_count = 0;
        /* some rounds stay small (<= 12 keys of 16 slots), some go wide */
        int span = round % 2 ? 12 : NKEYS;
        for (int op = 0; op < 20000; op++) {
            int i = (int)(rng() % (uint64_t)span);
            void *val = &tokens[rng() % 4];
            switch (rng() % 3) {
            case 0: /* put */
                if (put_s(&m, keys[i], val))
                    mismatches++;
                if (!ref_present[i])
                    ref_count++;
                ref_present[i] = 1;
                ref_value[i] = val;
                break;
            case 1: /* remove */
                if (remove_s(&m, keys[i]) != (ref_present[i] ? ref_value[i] : NULL))
                    mismatches++;
                if (ref_present[i])
                    ref_count--;
                ref_present[i] = 0;
                break;
            default: /* get */
                if (get_s(&m, keys[i]) != (ref_present[i] ? ref_value[i] : NULL))
                    mismatches++;
            }
            if (m.count != ref_count)
                mismatches++;
            if (op % 16 == 0 && !table_ok(&m))
                broken++;
            if (op % 500 == 0) { /* iteration agrees with the reference */
                int visited[NKEYS] = {0};
                size_t it = 0, kl, n = 0;
                const char *k;
                void *v;
                while (hashmap_next(&m, &it, &k, &kl, &v)) {
                    int idx = atoi(k + 1);
                    n++;
                    if (idx < 0 || idx >= NKEYS || !ref_present[idx] || visited[idx]++ ||
                        ref_value[idx] != v)
                        iter_bad++;
                }
                if (n != ref_count)
                    iter_bad++;
            }
        }
        /* every key agrees at the end of the round */
        for (int i = 0; i < NKEYS; i++)
            if (get_s(&m, keys[i]) != (ref_present[i] ? ref_value[i] : NULL))
                mismatches++;
        if (!table_ok(&m))
            broken++;
        hashmap_free(&m);
    }
    CHECK(mismatches == 0);
    CHECK(broken == 0);
    CHECK(iter_bad == 0);
}

/* Removing inside a long run that wraps past the table's last slot: keys are
 * picked (by their hash under this map's seed) so their home buckets are the
 * last two slots of a 16-slot table, then removed in every position. */
static void test_wrapping_run(void)
{
    hashmap m;
    hashmap_init(&m);
    int dummy;
    CHECK(put_s(&m, "seed", &dummy) == 0 && m.cap == 16); /* make a 16-slot table */
    CHECK(remove_s(&m, "seed") == &dummy);
    /* the home bucket of a key is its stored slot hash & 15: find keys whose
     * home is 14 or 15 by inserting a candidate and reading its slot */
    static char keys[8][12];
    int found = 0;
    for (int c = 0; c < 100000 && found < 8; c++) {
        char cand[12];
        snprintf(cand, sizeof(cand), "w%d", c);
        if (put_s(&m, cand, &dummy))
            break;
        size_t home = 99;
        for (size_t i = 0; i < m.cap; i++)
            if (m.slots[i].key && strcmp(m.slots[i].key, cand) == 0)
                home = m.slots[i].hash & (m.cap - 1);
        remove_s(&m, cand);
        if (home >= 14) {
            memcpy(keys[found], cand, sizeof(cand));
            found++;
        }
    }
    CHECK(found == 8);
    /* 8 keys homed at 14/15 occupy 14, 15, 0, 1, ... 5: the run wraps */
    for (int removed = 0; removed < found; removed++) {
        for (int i = 0; i < found; i++)
            put_s(&m, keys[i], keys[i]);
        CHECK(m.count == (size_t)found && m.cap == 16);
        CHECK(remove_s(&m, keys[removed]) == keys[removed]);
        CHECK(table_ok(&m));
        int ok = 1;
        for (int i = 0; i < found; i++)
            if (get_s(&m, keys[i]) != (i == removed ? NULL : keys[i]))
                ok = 0;
        CHECK(ok);
        for (int i = 0; i < found; i++)
            remove_s(&m, keys[i]);
        CHECK(m.count == 0);
    }
    hashmap_free(&m);
}

static void test_seeds(void)
{
    /* hashing is seeded per map: two maps are (all but surely) seeded apart */
    hashmap a, b;
    hashmap_init(&a);
    hashmap_init(&b);
    CHECK(a.seed != b.seed);
    hashmap_free(&a);
    hashmap_free(&b);
}

int main(void)
{
    test_empty();
    test_basics();
    test_many();
    test_random();
    test_wrapping_run();
    test_seeds();
    return CHECK_DONE("test_hashmap");
}
