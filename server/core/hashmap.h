/* hashmap: string-keyed open-addressing map (linear probing, backward-shift
 * deletion, no tombstones) from a key to a pointer.
 *
 * The map does not copy keys: the stored key pointer must stay valid while the
 * entry exists (typically it points into the value, e.g. a session's sid or a
 * room's name). Hashing is seeded per map from OpenSSL's RAND_bytes, so clients
 * choosing room names cannot aim at one bucket chain across processes. */
#ifndef SIO_HASHMAP_H
#define SIO_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hashmap_slot {
    const char *key; /* NULL: empty */
    uint32_t key_len;
    uint32_t hash;
    void *value;
} hashmap_slot;

typedef struct hashmap {
    hashmap_slot *slots;
    size_t cap;   /* power of two */
    size_t count;
    uint64_t seed;
} hashmap;

int hashmap_init(hashmap *m);
void hashmap_free(hashmap *m); /* frees the table, not keys or values */
void *hashmap_get(const hashmap *m, const char *key, size_t len);
/* Inserts or replaces; returns 0, or -1 on allocation failure. */
int hashmap_put(hashmap *m, const char *key, size_t len, void *value);
/* Returns the removed value, or NULL. */
void *hashmap_remove(hashmap *m, const char *key, size_t len);

/* Iteration: for (size_t i = 0; hashmap_next(m, &i, &k, &klen, &v);) ...
 * Do not insert or remove while iterating. */
int hashmap_next(const hashmap *m, size_t *iter, const char **key, size_t *len, void **value);

#endif
