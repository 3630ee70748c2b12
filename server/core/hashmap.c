#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

/* FNV-1a over the key, mixed with the per-map seed and finalised with a
 * murmur-style avalanche so that low bits (the bucket index) depend on all. */
static uint32_t hash_key(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

int hashmap_init(hashmap *m)
{
    memset(m, 0, sizeof(*m));
    if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1)
        m->seed = (uint64_t)(uintptr_t)m;
    return 0;
}

void hashmap_free(hashmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static hashmap_slot *find(const hashmap *m, const char *key, size_t len, uint32_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        hashmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

void *hashmap_get(const hashmap *m, const char *key, size_t len)
{
    hashmap_slot *s = find(m, key, len, hash_key(m->seed, key, len));
    return s ? s->value : NULL;
}

static void insert_slot(hashmap *m, hashmap_slot in)
{
    size_t mask = m->cap - 1;
    size_t i = in.hash & mask;
    while (m->slots[i].key)
        i = (i + 1) & mask;
    m->slots[i] = in;
}

static int resize(hashmap *m, size_t cap)
{
    hashmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (!m->slots) {
        m->slots = old;
        return -1;
    }
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            insert_slot(m, old[i]);
    free(old);
    return 0;
}

int hashmap_put(hashmap *m, const char *key, size_t len, void *value)
{
    if (len > UINT32_MAX)
        return -1;
    uint32_t h = hash_key(m->seed, key, len);
    hashmap_slot *s = find(m, key, len, h);
    if (s) {
        s->key = key;
        s->value = value;
        return 0;
    }
    if ((m->count + 1) * 4 > m->cap * 3 && resize(m, m->cap ? m->cap * 2 : 16))
        return -1;
    insert_slot(m, (hashmap_slot){key, (uint32_t)len, h, value});
    m->count++;
    return 0;
}

void *hashmap_remove(hashmap *m, const char *key, size_t len)
{
    hashmap_slot *s = find(m, key, len, hash_key(m->seed, key, len));
    if (!s)
        return NULL;
    void *value = s->value;
    size_t mask = m->cap - 1;
    size_t hole = (size_t)(s - m->slots);
    /* backward-shift: pull later members of the probe run into the hole */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = m->slots[i].hash & mask;
        size_t dist_i = (i - home) & mask, dist_hole = (hole - home) & mask;
        if (dist_hole < dist_i) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = NULL;
    m->count--;
    if (m->cap > 64 && m->count * 8 < m->cap)
        resize(m, m->cap / 2); /* best effort: on failure the map stays valid */
    return value;
}

int hashmap_next(const hashmap *m, size_t *iter, const char **key, size_t *len, void **value)
{
    for (; *iter < m->cap; (*iter)++) {
        hashmap_slot *s = &m->slots[*iter];
        if (s->key) {
            *key = s->key;
            *len = s->key_len;
            *value = s->value;
            (*iter)++;
            return 1;
        }
    }
    return 0;
}
