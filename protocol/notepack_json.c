/* notepack_json: see notepack_json.h. */
#include "notepack_json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>


/* Largest ECMAScript array index (2^32 - 2): such keys come first in an object. */
#define JS_MAX_ARRAY_INDEX 4294967294u

static int write_to_bytebuf(void *data, const char *buf, size_t len)
{
    return bytebuf_append(data, buf, len);
}

void notepack_writer_init(notepack_writer *w, bytebuf *out,
                          int (*placeholder)(notepack_writer *w, const json_t *obj),
                          const void *bins, size_t n_bins)
{
    msgpack_packer_init(&w->pk, out, write_to_bytebuf);
    w->placeholder = placeholder;
    w->bins = bins;
    w->n_bins = n_bins;
}

int notepack_put_str(notepack_writer *w, const char *s, size_t len)
{
    return msgpack_pack_str(&w->pk, len) || msgpack_pack_str_body(&w->pk, s, len) ? -1 : 0;
}

static int put_real(notepack_writer *w, double d)
{
    if (d != floor(d) || d < -9223372036854775808.0 || d >= 18446744073709551616.0)
        return msgpack_pack_double(&w->pk, d);
    if (d < 9223372036854775808.0)
        return msgpack_pack_int64(&w->pk, (int64_t)d);
    return msgpack_pack_uint64(&w->pk, (uint64_t)d);
}

static int put_value(notepack_writer *w, const json_t *v, int depth);

static int put_array(notepack_writer *w, const json_t *v, int depth)
{
    size_t n = json_array_size(v);
    if (n > UINT32_MAX || msgpack_pack_array(&w->pk, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (put_value(w, json_array_get(v, i), depth + 1))
            return -1;
    return 0;
}

/* A member's place: its array index, or 2^32 + its insertion position. */
typedef struct member {
    uint64_t rank;
    void *iter;
} member;

static uint64_t key_rank(const char *key, size_t len, uint64_t position)
{
    uint64_t v = 0;
    int index = len > 0 && len <= 10 && !(len > 1 && key[0] == '0');
    for (size_t i = 0; index && i < len; i++) {
        index = key[i] >= '0' && key[i] <= '9';
        v = v * 10 + (uint64_t)(key[i] - '0');
    }
    return index && v <= JS_MAX_ARRAY_INDEX ? v : (UINT64_C(1) << 32) + position;
}

static int compare_members(const void *a, const void *b)
{
    uint64_t x = ((const member *)a)->rank, y = ((const member *)b)->rank;
    return (x > y) - (x < y);
}

static int put_members(notepack_writer *w, json_t *obj, size_t n, int depth)
{
    member *m = malloc(n * sizeof(*m));
    if (!m)
        return -1;
    size_t i = 0;
    for (void *it = json_object_iter(obj); it && i < n; it = json_object_iter_next(obj, it), i++)
        m[i] = (member){key_rank(json_object_iter_key(it), json_object_iter_key_len(it), i), it};
    qsort(m, i, sizeof(*m), compare_members);
    int rc = 0;
    for (size_t k = 0; k < i && rc == 0; k++)
        rc = notepack_put_str(w, json_object_iter_key(m[k].iter), json_object_iter_key_len(m[k].iter)) ||
             put_value(w, json_object_iter_value(m[k].iter), depth + 1);
    free(m);
    return rc ? -1 : 0;
}

static int put_object(notepack_writer *w, const json_t *v, int depth)
{
    json_t *obj = SIO_UNCONST(json_t *, v); /* jansson's iterators take non-const */
    size_t n = json_object_size(obj);
    if (w->placeholder && json_is_true(json_object_get(obj, "_placeholder")))
        return w->placeholder(w, obj);
    if (n > UINT32_MAX || msgpack_pack_map(&w->pk, n))
        return -1;
    return n ? put_members(w, obj, n, depth) : 0;
}

static int put_value(notepack_writer *w, const json_t *v, int depth)
{
    if (!v || depth > NOTEPACK_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: return put_object(w, v, depth);
    case JSON_ARRAY: return put_array(w, v, depth);
    case JSON_STRING: return notepack_put_str(w, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return msgpack_pack_int64(&w->pk, json_integer_value(v)) ? -1 : 0;
    case JSON_REAL: return put_real(w, json_real_value(v)) ? -1 : 0;
    case JSON_TRUE: return msgpack_pack_true(&w->pk) ? -1 : 0;
    case JSON_FALSE: return msgpack_pack_false(&w->pk) ? -1 : 0;
    case JSON_NULL: return msgpack_pack_nil(&w->pk) ? -1 : 0;
    }
    return -1;
}

int notepack_put_json(notepack_writer *w, const json_t *v)
{
    return put_value(w, v, 0);
}
