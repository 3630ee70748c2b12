/* adapter_msg: decodes and encodes the Redis messages of @socket.io/redis-adapter
 * 8.3 (classic pub/sub) and @socket.io/redis-emitter 5.1: broadcasts
 * [uid, packet, opts], JSON requests/responses, msgpack BROADCAST (7) requests
 * and BROADCAST_ACK (9) responses. Pure: no I/O, no globals.
 *
 * msgpack is read by msgpack-c (msgpack_unpack_next) and written by its packer
 * straight into a bytebuf; JSON is jansson's. The writer reproduces notepack.io
 * 3.0.1 byte for byte: smallest int forms, float64 for the rest, str/bin/array/
 * map headers by size, object keys in JavaScript's own-key order.
 *
 * Before msgpack-c sees a message, frame_check() walks its headers once: msgpack-c
 * allocates every array/map up front from the count in its header, so a 5-byte
 * message claiming 2^32 elements would otherwise cost a 100 GB allocation. The
 * walk bounds every count by the bytes left, and rejects truncation and trailing
 * bytes; the values themselves are only ever read through msgpack-c. */
#include "adapter_msg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "notepack_json.h"
#include "sio_packet.h" /* sio_json_append: JavaScript's number formatting */

/* Status values (all < 0 are failures). */
enum {
    AM_OK = 0,
    AM_ERR_FORMAT = -1, /* malformed msgpack/JSON or a field of the wrong type */
    AM_ERR_LIMIT = -2,  /* over a limit of adapter_limits */
    AM_ERR_NOMEM = -3,
};

/* Largest integer a JavaScript number holds exactly (2^53). */
#define JS_SAFE_INT INT64_C(9007199254740992)

static const adapter_limits default_limits = {1024, 64, 64, 16u * 1024 * 1024};

static const adapter_limits *limits_or_default(const adapter_limits *lim)
{
    return lim ? lim : &default_limits;
}

/* ------------------------------------------------------------------ helpers */

/* A C string copy of s[0..len); refused when s holds a NUL (no faithful C form). */
static int dup_cstr(const char *s, size_t len, char **out)
{
    if (memchr(s, '\0', len))
        return AM_ERR_FORMAT;
    char *p = malloc(len + 1);
    if (!p)
        return AM_ERR_NOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    *out = p;
    return AM_OK;
}

static void free_bins(adapter_bin *bins, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free(bins[i].data);
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* JavaScript truthiness of a decoded value (absent is falsy). */
static int js_truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE: return 1;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_ARRAY:
    case JSON_OBJECT: return 1;
    default: return 0;
    }
}

/* A finite double without fraction (every double from 2^52 on is one). */
static int is_integral(double d)
{
    if (!(d > -4503599627370496.0 && d < 4503599627370496.0))
        return isfinite(d);
    return (double)(int64_t)d == d;
}

/* An integral number within int64 (integers, or reals with no fraction). */
static int json_as_i64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    double d = json_real_value(v);
    if (!is_integral(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* ------------------------------------------------------------------ framing */

/* One msgpack header: its size, the payload bytes after it, the values it contains. */
typedef struct mp_head {
    size_t size;
    uint64_t payload;
    uint64_t children;
} mp_head;

static uint64_t read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The forms with a length field: bin, ext (whose type byte follows the length),
 * str, array, map. `per_item` counts the values per unit of length; 0 means the
 * length counts payload bytes. */
typedef struct var_form {
    uint8_t byte, len_bytes, extra, per_item;
} var_form;

static const var_form var_forms[] = {
    {0xc4, 1, 0, 0}, {0xc5, 2, 0, 0}, {0xc6, 4, 0, 0}, /* bin */
    {0xc7, 1, 1, 0}, {0xc8, 2, 1, 0}, {0xc9, 4, 1, 0}, /* ext */
    {0xd9, 1, 0, 0}, {0xda, 2, 0, 0}, {0xdb, 4, 0, 0}, /* str */
    {0xdc, 2, 0, 1}, {0xdd, 4, 0, 1},                  /* array */
    {0xde, 2, 0, 2}, {0xdf, 4, 0, 2},                  /* map */
};

/* 0 when p starts a form with a length field, 1 when it is another form, -1 when
 * the header is cut short. */
static int head_variable(const uint8_t *p, size_t avail, mp_head *h)
{
    for (size_t i = 0; i < sizeof(var_forms) / sizeof(var_forms[0]); i++) {
        const var_form *f = &var_forms[i];
        if (f->byte != p[0])
            continue;
        h->size = 1u + f->len_bytes + f->extra;
        if (avail < h->size)
            return -1;
        uint64_t n = read_be(p + 1, f->len_bytes);
        if (f->per_item)
            h->children = n * f->per_item;
        else
            h->payload = n;
        return 0;
    }
    return 1;
}

/* Fixed-size forms c0..d8 (nil, bool, numbers, fixext). Returns -1 for 0xc1. */
static int head_fixed(uint8_t b, mp_head *h)
{
    static const uint8_t sizes[] = {
        /* c0 */ 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, /* ca */ 5, 9, 2, 3, 5, 9, 2, 3, 5, 9,
    };
    static const uint8_t fixext[] = {1, 2, 4, 8, 16}; /* d4..d8 */
    if (b >= 0xd4 && b <= 0xd8) {
        h->size = 2;
        h->payload = fixext[b - 0xd4];
        return 0;
    }
    if (b > 0xd3 || sizes[b - 0xc0] == 0)
        return -1;
    h->size = sizes[b - 0xc0];
    return 0;
}

static int read_head(const uint8_t *p, size_t avail, mp_head *h)
{
    uint8_t b = p[0];
    *h = (mp_head){1, 0, 0};
    if (b < 0x80 || b >= 0xe0) /* fixint */
        return 0;
    if (b < 0x90) { /* fixmap */
        h->children = 2u * (b & 0x0f);
        return 0;
    }
    if (b < 0xa0) { /* fixarray */
        h->children = b & 0x0f;
        return 0;
    }
    if (b < 0xc0) { /* fixstr */
        h->payload = b & 0x1f;
        return 0;
    }
    int rc = head_variable(p, avail, h);
    return rc <= 0 ? rc : head_fixed(b, h);
}

/* Checks that msg is exactly one msgpack value whose every length and count fits
 * in the bytes that follow it (each value takes at least one byte). */
static int frame_check(const uint8_t *msg, size_t len)
{
    size_t pos = 0;
    uint64_t pending = 1;
    while (pending > 0) {
        mp_head h;
        if (pos >= len || read_head(msg + pos, len - pos, &h))
            return AM_ERR_FORMAT;
        if (h.size > len - pos)
            return AM_ERR_FORMAT;
        pos += h.size;
        if (h.payload > len - pos)
            return AM_ERR_FORMAT;
        pos += (size_t)h.payload;
        pending--;
        if (h.children > len - pos || pending + h.children > len - pos)
            return AM_ERR_FORMAT;
        pending += h.children;
    }
    return pos == len ? AM_OK : AM_ERR_FORMAT;
}

/* Unpacks one whole message; `up` must be destroyed by the caller either way. */
static int mp_unpack(const uint8_t *msg, size_t len, msgpack_unpacked *up)
{
    msgpack_unpacked_init(up);
    int rc = frame_check(msg, len);
    if (rc)
        return rc;
    /* The framing is sound, so what msgpack-c still refuses is nesting beyond its
     * fixed stack (MSGPACK_EMBED_STACK_SIZE, 32 containers) or memory. */
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(up, (const char *)msg, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS)
        return AM_ERR_LIMIT;
    return off == len ? AM_OK : AM_ERR_FORMAT;
}

/* msgpack-c may leave the pointer of an empty str NULL (a fixstr a0 first in the
 * buffer); jansson refuses NULL even with length 0. */
static const char *str_ptr(const msgpack_object_str *s)
{
    return s->size ? s->ptr : "";
}

static int mp_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(str_ptr(&k->via.str), name, n) == 0;
}

/* The value of the `name` key of a map, or NULL. */
static const msgpack_object *mp_map_get(const msgpack_object *map, const char *name)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mp_key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

/* Keys must be strings, each once: notepack never writes a repeated key, and
 * dropping a repeated value would orphan the binaries it held. */
static int mp_unique_keys(const msgpack_object *map)
{
    json_t *seen = json_object();
    if (!seen)
        return AM_ERR_NOMEM;
    int rc = AM_OK;
    for (uint32_t i = 0; i < map->via.map.size && rc == AM_OK; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR ||
            json_object_getn(seen, str_ptr(&k->via.str), k->via.str.size))
            rc = AM_ERR_FORMAT;
        else if (json_object_setn_new(seen, str_ptr(&k->via.str), k->via.str.size, json_null()))
            rc = AM_ERR_FORMAT; /* invalid UTF-8 */
    }
    json_decref(seen);
    return rc;
}

/* ------------------------------------------------------------------ msgpack -> JSON */

/* Conversion state: limits, and the binaries collected (when allowed). */
typedef struct conv {
    const adapter_limits *lim;
    int allow_bins;
    adapter_bin *bins;
    size_t n_bins;
    int err;
} conv;

static json_t *to_json(conv *c, const msgpack_object *o, size_t depth);

static json_t *fail(conv *c, int err)
{
    if (!c->err)
        c->err = err;
    return NULL;
}

static json_t *conv_new(conv *c, json_t *v)
{
    return v ? v : fail(c, AM_ERR_NOMEM);
}

static json_t *conv_uint(conv *c, uint64_t u)
{
    if (u <= INT64_MAX)
        return conv_new(c, json_integer((json_int_t)u));
    return conv_new(c, json_real((double)u));
}

/* NaN and the infinities have no JSON form: null, as JSON.stringify writes them. */
static json_t *conv_float(conv *c, double d)
{
    return conv_new(c, isfinite(d) ? json_real(d) : json_null());
}

static json_t *conv_str(conv *c, const msgpack_object_str *s)
{
    if (s->size > c->lim->max_string)
        return fail(c, AM_ERR_LIMIT);
    json_t *v = json_stringn(str_ptr(s), s->size);
    return v ? v : fail(c, AM_ERR_FORMAT); /* invalid UTF-8 */
}

static json_t *placeholder(size_t num)
{
    json_t *p = json_object();
    if (p && (json_object_set_new(p, "_placeholder", json_true()) ||
              json_object_set_new(p, "num", json_integer((json_int_t)num)))) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *conv_bin(conv *c, const msgpack_object_bin *b)
{
    if (!c->allow_bins)
        return fail(c, AM_ERR_FORMAT);
    if (b->size > c->lim->max_string || c->n_bins >= c->lim->max_bins)
        return fail(c, AM_ERR_LIMIT);
    adapter_bin *grown = realloc(c->bins, (c->n_bins + 1) * sizeof(*grown));
    if (!grown)
        return fail(c, AM_ERR_NOMEM);
    c->bins = grown;
    uint8_t *copy = malloc(b->size ? b->size : 1);
    json_t *p = copy ? placeholder(c->n_bins) : NULL;
    if (!p) {
        free(copy);
        return fail(c, AM_ERR_NOMEM);
    }
    if (b->size)
        memcpy(copy, b->ptr, b->size);
    c->bins[c->n_bins++] = (adapter_bin){copy, b->size};
    return p;
}

static json_t *conv_array(conv *c, const msgpack_object_array *a, size_t depth)
{
    json_t *arr = conv_new(c, json_array());
    for (uint32_t i = 0; arr && i < a->size; i++) {
        json_t *v = to_json(c, &a->ptr[i], depth + 1);
        if (!v || json_array_append_new(arr, v)) {
            json_decref(arr);
            return fail(c, AM_ERR_NOMEM);
        }
    }
    return arr;
}

static int conv_member(conv *c, json_t *obj, const msgpack_object_kv *kv, size_t depth)
{
    if (kv->key.type != MSGPACK_OBJECT_STR ||
        json_object_getn(obj, str_ptr(&kv->key.via.str), kv->key.via.str.size))
        return c->err = AM_ERR_FORMAT; /* not a string, or repeated (see mp_unique_keys) */
    if (kv->key.via.str.size > c->lim->max_string)
        return c->err = AM_ERR_LIMIT;
    json_t *v = to_json(c, &kv->val, depth + 1);
    if (!v)
        return -1;
    if (json_object_setn_new(obj, str_ptr(&kv->key.via.str), kv->key.via.str.size, v))
        return c->err = AM_ERR_FORMAT; /* invalid UTF-8 key (v is released) */
    return 0;
}

/* A literal {"_placeholder": true, ...} in binary-carrying data would be read back
 * as a binary reference: refused, so that decoding stays unambiguous. */
static json_t *conv_map(conv *c, const msgpack_object_map *m, size_t depth)
{
    json_t *obj = conv_new(c, json_object());
    for (uint32_t i = 0; obj && i < m->size; i++) {
        if (conv_member(c, obj, &m->ptr[i], depth)) {
            json_decref(obj);
            return fail(c, AM_ERR_NOMEM);
        }
    }
    if (obj && c->allow_bins && json_is_true(json_object_get(obj, "_placeholder"))) {
        json_decref(obj);
        return fail(c, AM_ERR_FORMAT);
    }
    return obj;
}

static json_t *to_json(conv *c, const msgpack_object *o, size_t depth)
{
    int container = o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP;
    if (container && depth >= c->lim->max_depth)
        return fail(c, AM_ERR_LIMIT);
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return conv_new(c, json_null());
    case MSGPACK_OBJECT_BOOLEAN: return conv_new(c, json_boolean(o->via.boolean));
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return conv_uint(c, o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return conv_new(c, json_integer(o->via.i64));
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return conv_float(c, o->via.f64);
    case MSGPACK_OBJECT_STR: return conv_str(c, &o->via.str);
    case MSGPACK_OBJECT_BIN: return conv_bin(c, &o->via.bin);
    case MSGPACK_OBJECT_ARRAY: return conv_array(c, &o->via.array, depth);
    case MSGPACK_OBJECT_MAP: return conv_map(c, &o->via.map, depth);
    case MSGPACK_OBJECT_EXT: /* notepack's undefined, Dates, custom types */
        if (o->via.ext.size > c->lim->max_string)
            return fail(c, AM_ERR_LIMIT);
        return conv_new(c, json_null());
    }
    return fail(c, AM_ERR_FORMAT);
}

/* Converts a value refusing binaries (everything outside packet data). */
static int value_plain(const msgpack_object *o, const adapter_limits *lim, json_t **out)
{
    conv c = {lim, 0, NULL, 0, 0};
    *out = to_json(&c, o, 0);
    return *out ? AM_OK : (c.err ? c.err : AM_ERR_NOMEM);
}

/* Converts a value whose binaries become placeholders; bins go to p. */
static int value_with_bins(const msgpack_object *o, const adapter_limits *lim, adapter_packet *p)
{
    conv c = {lim, 1, NULL, 0, 0};
    json_t *v = to_json(&c, o, 0);
    if (!v) {
        free_bins(c.bins, 0, c.n_bins);
        free(c.bins);
        return c.err ? c.err : AM_ERR_NOMEM;
    }
    p->data = v;
    p->bins = c.bins;
    p->n_bins = c.n_bins;
    return AM_OK;
}

/* ------------------------------------------------------------------ JSON fields */

/* A room name as JavaScript's String() prints it: strings as they are, numbers in
 * Number::toString form (integers beyond 2^53 as the double JavaScript holds). */
static int room_name(const json_t *v, char **out)
{
    if (json_is_string(v))
        return dup_cstr(json_string_value(v), json_string_length(v), out);
    if (!json_is_number(v))
        return AM_ERR_FORMAT;
    json_int_t i = json_integer_value(v);
    if (json_is_integer(v) && i >= -JS_SAFE_INT && i <= JS_SAFE_INT) {
        char text[32];
        int n = snprintf(text, sizeof(text), "%" PRId64, (int64_t)i);
        return dup_cstr(text, (size_t)n, out);
    }
    json_t *real = json_real(json_number_value(v));
    bytebuf b = BYTEBUF_INIT;
    int rc = real && sio_json_append(&b, real) == 0 ? AM_OK : AM_ERR_NOMEM;
    if (rc == AM_OK)
        rc = dup_cstr((const char *)b.data, b.len, out);
    json_decref(real);
    bytebuf_free(&b);
    return rc;
}

/* A list of room names; absent or null is empty. `*budget` counts what the
 * limit still allows across the lists of one message. */
static int room_list(const json_t *v, size_t *budget, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return AM_OK;
    if (!json_is_array(v))
        return AM_ERR_FORMAT;
    size_t count = json_array_size(v);
    if (count > *budget)
        return AM_ERR_LIMIT;
    if (count == 0)
        return AM_OK;
    char **list = calloc(count, sizeof(*list));
    if (!list)
        return AM_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        int rc = room_name(json_array_get(v, i), &list[i]);
        if (rc) {
            free_strv(list, i);
            return rc;
        }
    }
    *budget -= count;
    *out = list;
    *n = count;
    return AM_OK;
}

/* An optional string field; null counts as absent. */
static int opt_cstr(const json_t *obj, const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return AM_OK;
    if (!json_is_string(v))
        return AM_ERR_FORMAT;
    return dup_cstr(json_string_value(v), json_string_length(v), out);
}

static int64_t timeout_ms(const json_t *v)
{
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (d <= 0)
        return 0;
    return d >= 9223372036854775807.0 ? INT64_MAX : (int64_t)d;
}

/* opts.flags: volatile/local by truthiness; compress is off only when false (as
 * engine.io reads it); timeout when a number. Unknown flags are ignored. */
static int read_flags(const json_t *flags, adapter_flags *f)
{
    *f = (adapter_flags){0, -1, 0, -1};
    if (!flags || json_is_null(flags))
        return AM_OK;
    if (!json_is_object(flags))
        return AM_ERR_FORMAT;
    const json_t *compress = json_object_get(flags, "compress");
    f->is_volatile = js_truthy(json_object_get(flags, "volatile"));
    f->local = js_truthy(json_object_get(flags, "local"));
    f->compress = compress ? !json_is_false(compress) : -1;
    f->timeout_ms = timeout_ms(json_object_get(flags, "timeout"));
    return AM_OK;
}

/* ------------------------------------------------------------------ packet */

static int packet_header(const json_t *type, const json_t *nsp, const json_t *id, adapter_packet *p)
{
    int64_t v;
    if (json_as_i64(type, &v) || v < 0 || v > 6)
        return AM_ERR_FORMAT;
    p->type = (int)v;
    p->id = -1;
    if (id && !json_is_null(id)) {
        if (json_as_i64(id, &p->id) || p->id < 0)
            return AM_ERR_FORMAT;
    }
    if (!nsp)
        return dup_cstr("/", 1, &p->nsp);
    if (!json_is_string(nsp))
        return AM_ERR_FORMAT;
    return dup_cstr(json_string_value(nsp), json_string_length(nsp), &p->nsp);
}

/* The msgpack map {type, data, nsp[, id]}: data keeps its binaries; the other
 * members are converted plainly. */
static int packet_decode(const msgpack_object *o, const adapter_limits *lim, adapter_packet *p)
{
    *p = (adapter_packet){-1, NULL, -1, NULL, NULL, 0};
    if (o->type != MSGPACK_OBJECT_MAP)
        return AM_ERR_FORMAT;
    int rc = mp_unique_keys(o);
    if (rc)
        return rc;
    const msgpack_object *data = mp_map_get(o, "data");
    json_t *head = json_object();
    if (!head)
        return AM_ERR_NOMEM;
    for (uint32_t i = 0; i < o->via.map.size && rc == AM_OK; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        json_t *v = NULL;
        if (!mp_key_is(&kv->key, "data") && (rc = value_plain(&kv->val, lim, &v)) == AM_OK &&
            json_object_setn_new(head, str_ptr(&kv->key.via.str), kv->key.via.str.size, v))
            rc = AM_ERR_NOMEM;
    }
    if (rc == AM_OK)
        rc = packet_header(json_object_get(head, "type"), json_object_get(head, "nsp"),
                           json_object_get(head, "id"), p);
    json_decref(head);
    if (rc == AM_OK && data)
        rc = value_with_bins(data, lim, p);
    return rc;
}

static void packet_clear(adapter_packet *p)
{
    free(p->nsp);
    json_decref(p->data);
    free_bins(p->bins, 0, p->n_bins);
    free(p->bins);
    *p = (adapter_packet){-1, NULL, -1, NULL, NULL, 0};
}

/* ------------------------------------------------------------------ broadcast */

static int opts_decode(const msgpack_object *o, const adapter_limits *lim, adapter_broadcast *b)
{
    json_t *opts;
    int rc = value_plain(o, lim, &opts);
    if (rc)
        return rc;
    size_t budget = lim->max_rooms;
    if (!json_is_object(opts))
        rc = AM_ERR_FORMAT;
    if (rc == AM_OK)
        rc = room_list(json_object_get(opts, "rooms"), &budget, &b->rooms, &b->n_rooms);
    if (rc == AM_OK)
        rc = room_list(json_object_get(opts, "except"), &budget, &b->except, &b->n_except);
    if (rc == AM_OK)
        rc = read_flags(json_object_get(opts, "flags"), &b->flags);
    const json_t *offset = json_object_get(json_object_get(opts, "flags"), "offset");
    if (rc == AM_OK && json_is_string(offset))
        rc = dup_cstr(json_string_value(offset), json_string_length(offset), &b->offset);
    json_decref(opts);
    return rc;
}

static int uid_decode(const msgpack_object *o, const adapter_limits *lim, char **out)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return AM_ERR_FORMAT;
    json_t *uid;
    int rc = value_plain(o, lim, &uid); /* size and UTF-8 checks */
    if (rc == AM_OK)
        rc = dup_cstr(json_string_value(uid), json_string_length(uid), out);
    json_decref(uid);
    return rc;
}

static int broadcast_fields(const msgpack_object *top, const adapter_limits *lim,
                            adapter_broadcast *out)
{
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size != 3)
        return AM_ERR_FORMAT;
    const msgpack_object *items = top->via.array.ptr;
    int rc = uid_decode(&items[0], lim, &out->uid);
    if (rc == AM_OK)
        rc = packet_decode(&items[1], lim, &out->packet);
    if (rc == AM_OK)
        rc = opts_decode(&items[2], lim, out);
    return rc;
}

static void broadcast_init(adapter_broadcast *b)
{
    memset(b, 0, sizeof(*b));
    b->packet = (adapter_packet){-1, NULL, -1, NULL, NULL, 0};
    b->flags = (adapter_flags){0, -1, 0, -1};
}

typedef int (*broadcast_reader)(const msgpack_object *top, const adapter_limits *lim,
                                adapter_broadcast *out);

/* One whole msgpack message read into a broadcast by `read` (the classic
 * array, or the cluster adapter's map); nothing is left on failure. */
static int decode_broadcast(const uint8_t *msg, size_t len, const adapter_limits *lim,
                            adapter_broadcast *out, broadcast_reader read)
{
    lim = limits_or_default(lim);
    broadcast_init(out);
    msgpack_unpacked up;
    int rc = mp_unpack(msg, len, &up);
    if (rc == AM_OK)
        rc = read(&up.data, lim, out);
    msgpack_unpacked_destroy(&up);
    if (rc)
        adapter_broadcast_clear(out);
    return rc;
}

int adapter_broadcast_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                             adapter_broadcast *out)
{
    return decode_broadcast(msg, len, lim, out, broadcast_fields);
}

void adapter_broadcast_clear(adapter_broadcast *b)
{
    free(b->uid);
    packet_clear(&b->packet);
    free_strv(b->rooms, b->n_rooms);
    free_strv(b->except, b->n_except);
    free(b->offset);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ requests */

static void request_init(adapter_request *r)
{
    memset(r, 0, sizeof(*r));
    r->type = -1;
    r->packet = (adapter_packet){-1, NULL, -1, NULL, NULL, 0};
    r->flags = (adapter_flags){0, -1, 0, -1};
    r->client_count = -1;
}

void adapter_request_clear(adapter_request *r)
{
    free(r->uid);
    free(r->request_id);
    free_strv(r->opts_rooms, r->n_opts_rooms);
    free_strv(r->opts_except, r->n_opts_except);
    free_strv(r->rooms, r->n_rooms);
    free(r->sid);
    free(r->room);
    json_decref(r->data);
    packet_clear(&r->packet);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static int request_type(const json_t *v, int *type)
{
    int64_t t;
    *type = -1;
    if (!v)
        return AM_OK;
    if (json_as_i64(v, &t) || t < 0 || t > 0xffff)
        return AM_ERR_FORMAT;
    *type = (int)t;
    return AM_OK;
}

/* opts {rooms, except[, flags]}: present when an object; null counts as absent. */
static int request_opts(const json_t *opts, const adapter_limits *lim, adapter_request *r)
{
    if (!opts || json_is_null(opts))
        return AM_OK;
    if (!json_is_object(opts))
        return AM_ERR_FORMAT;
    size_t budget = lim->max_rooms;
    r->has_opts = 1;
    int rc = room_list(json_object_get(opts, "rooms"), &budget, &r->opts_rooms, &r->n_opts_rooms);
    if (rc == AM_OK)
        rc = room_list(json_object_get(opts, "except"), &budget, &r->opts_except,
                       &r->n_opts_except);
    if (rc == AM_OK)
        rc = read_flags(json_object_get(opts, "flags"), &r->flags);
    return rc;
}

static int request_scalars(const json_t *obj, adapter_request *r)
{
    const json_t *room = json_object_get(obj, "room");
    const json_t *count = json_object_get(obj, "clientCount");
    int rc = request_type(json_object_get(obj, "type"), &r->type);
    if (rc == AM_OK)
        rc = opt_cstr(obj, "uid", &r->uid);
    if (rc == AM_OK)
        rc = opt_cstr(obj, "requestId", &r->request_id);
    if (rc == AM_OK)
        rc = opt_cstr(obj, "sid", &r->sid);
    if (rc == AM_OK && room && !json_is_null(room))
        rc = room_name(room, &r->room);
    if (rc == AM_OK && count && (json_as_i64(count, &r->client_count) || r->client_count < 0))
        rc = AM_ERR_FORMAT;
    r->close = js_truthy(json_object_get(obj, "close"));
    return rc;
}

/* The fields both encodings share, read from the decoded object. */
static int request_fields(const json_t *obj, const adapter_limits *lim, adapter_request *r)
{
    size_t budget = lim->max_rooms;
    json_t *data = json_object_get(obj, "data");
    int rc = request_scalars(obj, r);
    if (rc == AM_OK)
        rc = request_opts(json_object_get(obj, "opts"), lim, r);
    /* only the rooms to join or leave: an allRooms response lists every room of a
     * node, which the caller reads from `json`, unbounded by max_rooms */
    if (rc == AM_OK && (r->type == ADAPTER_REMOTE_JOIN || r->type == ADAPTER_REMOTE_LEAVE))
        rc = room_list(json_object_get(obj, "rooms"), &budget, &r->rooms, &r->n_rooms);
    if (rc == AM_OK)
        r->data = json_incref(data);
    return rc;
}

/* Depth and string sizes of a parsed JSON request (whose object is one level). */
static int json_within(const json_t *v, const adapter_limits *lim, size_t depth)
{
    if (json_is_string(v))
        return json_string_length(v) > lim->max_string ? AM_ERR_LIMIT : AM_OK;
    if (!json_is_array(v) && !json_is_object(v))
        return AM_OK;
    if (depth > lim->max_depth)
        return AM_ERR_LIMIT;
    int rc = AM_OK;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && rc == AM_OK; i++)
            rc = json_within(json_array_get(v, i), lim, depth + 1);
        return rc;
    }
    const char *key;
    size_t key_len;
    json_t *child;
    json_object_keylen_foreach(SIO_UNCONST(json_t *, v), key, key_len, child)
    {
        if (key_len > lim->max_string)
            return AM_ERR_LIMIT;
        if ((rc = json_within(child, lim, depth + 1)) != AM_OK)
            return rc;
    }
    return AM_OK;
}

/* JSON.parse reads integers beyond int64 as doubles; jansson refuses them unless
 * told to read every integer as a real, which is then done for that message. */
static json_t *parse_json(const uint8_t *msg, size_t len)
{
    json_error_t err;
    json_t *v = json_loadb((const char *)msg, len, JSON_ALLOW_NUL, &err);
    if (!v && json_error_code(&err) == json_error_numeric_overflow)
        v = json_loadb((const char *)msg, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    return v;
}

/* JSON requests and responses; BROADCAST (7) and BROADCAST_ACK (9) only ever
 * travel as msgpack, their binary-carrying packet has no JSON form. */
static int request_json(const uint8_t *msg, size_t len, const adapter_limits *lim,
                        adapter_request *r)
{
    json_t *obj = parse_json(msg, len);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return AM_ERR_FORMAT;
    }
    r->json = obj;
    int rc = json_within(obj, lim, 0);
    if (rc == AM_OK)
        rc = request_fields(obj, lim, r);
    if (rc == AM_OK && (r->type == ADAPTER_BROADCAST || r->type == ADAPTER_BROADCAST_ACK))
        rc = AM_ERR_FORMAT;
    return rc;
}

static int mp_request_type(const msgpack_object *top)
{
    const msgpack_object *t = mp_map_get(top, "type");
    if (t && t->type == MSGPACK_OBJECT_POSITIVE_INTEGER && t->via.u64 <= 0xffff)
        return (int)t->via.u64;
    return -1;
}

/* Every member but `packet`, converted plainly into one object (keys checked). */
static int mp_plain_members(const msgpack_object *top, const adapter_limits *lim, json_t *obj)
{
    for (uint32_t i = 0; i < top->via.map.size; i++) {
        const msgpack_object_kv *kv = &top->via.map.ptr[i];
        json_t *v;
        if (mp_key_is(&kv->key, "packet"))
            continue;
        int rc = value_plain(&kv->val, lim, &v);
        if (rc)
            return rc;
        if (json_object_setn_new(obj, str_ptr(&kv->key.via.str), kv->key.via.str.size, v))
            return AM_ERR_NOMEM; /* keys were checked by mp_unique_keys */
    }
    return AM_OK;
}

/* `packet`: the Socket.IO packet of a BROADCAST (7), the ack argument of a
 * BROADCAST_ACK (9); ignored (but still well-formed) for other types. */
static int mp_request_packet(const msgpack_object *top, const adapter_limits *lim,
                             adapter_request *r)
{
    const msgpack_object *packet = mp_map_get(top, "packet");
    json_t *ignored = NULL;
    int rc = AM_OK;
    if (r->type == ADAPTER_BROADCAST)
        rc = packet ? packet_decode(packet, lim, &r->packet) : AM_ERR_FORMAT;
    else if (r->type == ADAPTER_BROADCAST_ACK && packet)
        rc = value_with_bins(packet, lim, &r->packet);
    else if (packet)
        rc = value_plain(packet, lim, &ignored);
    json_decref(ignored);
    if (rc == AM_OK && r->type == ADAPTER_BROADCAST && !r->has_opts)
        rc = AM_ERR_FORMAT;
    return rc;
}

static int request_msgpack(const uint8_t *msg, size_t len, const adapter_limits *lim,
                           adapter_request *r)
{
    msgpack_unpacked up;
    int rc = mp_unpack(msg, len, &up);
    json_t *obj = NULL;
    if (rc == AM_OK && up.data.type != MSGPACK_OBJECT_MAP)
        rc = AM_ERR_FORMAT;
    if (rc == AM_OK)
        rc = mp_unique_keys(&up.data);
    if (rc == AM_OK && !(obj = json_object()))
        rc = AM_ERR_NOMEM;
    if (rc == AM_OK)
        rc = mp_plain_members(&up.data, lim, obj);
    if (rc == AM_OK)
        rc = request_fields(obj, lim, r);
    if (rc == AM_OK && r->type != mp_request_type(&up.data))
        rc = AM_ERR_FORMAT; /* a type that is not a small msgpack integer */
    if (rc == AM_OK)
        rc = mp_request_packet(&up.data, lim, r);
    json_decref(obj);
    msgpack_unpacked_destroy(&up);
    return rc;
}

int adapter_request_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                           adapter_request *out)
{
    lim = limits_or_default(lim);
    request_init(out);
    int rc = AM_ERR_FORMAT;
    if (len > 0)
        rc = msg[0] == '{' ? request_json(msg, len, lim, out) : request_msgpack(msg, len, lim, out);
    if (rc)
        adapter_request_clear(out);
    return rc;
}

/* ------------------------------------------------------------------ value decode */

int adapter_value_decode(const uint8_t *msg, size_t len, const adapter_limits *lim, json_t **out,
                         adapter_bin **bins, size_t *n_bins)
{
    lim = limits_or_default(lim);
    *out = NULL;
    conv c = {lim, 1, *bins, *n_bins, 0};
    msgpack_unpacked up;
    int rc = mp_unpack(msg, len, &up);
    if (rc == AM_OK && *n_bins > lim->max_bins)
        rc = AM_ERR_LIMIT;
    if (rc == AM_OK && !(*out = to_json(&c, &up.data, 0)))
        rc = c.err ? c.err : AM_ERR_NOMEM;
    msgpack_unpacked_destroy(&up);
    if (rc) {
        free_bins(c.bins, *n_bins, c.n_bins);
        c.n_bins = *n_bins;
        if (c.n_bins == 0) {
            free(c.bins);
            c.bins = NULL;
        }
    }
    *bins = c.bins;
    *n_bins = c.n_bins;
    return rc;
}

/* ------------------------------------------------------------------ encoding */

/* The writer: notepack's JSON writer, its placeholders naming the packet's binaries. */
typedef notepack_writer writer;

/* {"_placeholder": true, "num": i}: bins[i] as msgpack bin. */
static int put_placeholder(writer *w, const json_t *obj)
{
    int64_t num;
    if (json_as_i64(json_object_get(obj, "num"), &num) || num < 0 || (uint64_t)num >= w->n_bins)
        return -1;
    const adapter_bin *b = &((const adapter_bin *)w->bins)[num];
    if (b->len > UINT32_MAX || msgpack_pack_bin(&w->pk, b->len))
        return -1;
    return msgpack_pack_bin_body(&w->pk, b->data, b->len) ? -1 : 0;
}

static void writer_init(writer *w, bytebuf *out, const adapter_bin *bins, size_t n_bins)
{
    notepack_writer_init(w, out, put_placeholder, bins, n_bins);
}

static int put_cstr(writer *w, const char *s)
{
    return notepack_put_str(w, s, strlen(s));
}

/* {type, data, nsp[, id]}, as socket.io builds it and the adapter adds nsp. */
static int put_packet(writer *w, const adapter_packet *p)
{
    size_t n = 2 + (p->data != NULL) + (p->id >= 0);
    if (msgpack_pack_map(&w->pk, n) || put_cstr(w, "type") || msgpack_pack_int(&w->pk, p->type))
        return -1;
    if (p->data && (put_cstr(w, "data") || notepack_put_json(w, p->data)))
        return -1;
    if (put_cstr(w, "nsp") || put_cstr(w, p->nsp ? p->nsp : "/"))
        return -1;
    if (p->id >= 0 && (put_cstr(w, "id") || msgpack_pack_int64(&w->pk, p->id)))
        return -1;
    return 0;
}

static int put_strv(writer *w, char *const *v, size_t n)
{
    if (n > UINT32_MAX || msgpack_pack_array(&w->pk, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!v[i] || put_cstr(w, v[i]))
            return -1;
    return 0;
}

/* Only the flags that are set: volatile, compress, local, timeout, and
 * sio's offset last. */
static int put_flags(writer *w, const adapter_flags *f, const char *offset)
{
    size_t n = (f->is_volatile != 0) + (f->compress >= 0) + (f->local != 0) + (f->timeout_ms >= 0) +
               (offset != NULL);
    if (msgpack_pack_map(&w->pk, n))
        return -1;
    if (f->is_volatile && (put_cstr(w, "volatile") || msgpack_pack_true(&w->pk)))
        return -1;
    if (f->compress >= 0 && (put_cstr(w, "compress") ||
                             (f->compress ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk))))
        return -1;
    if (f->local && (put_cstr(w, "local") || msgpack_pack_true(&w->pk)))
        return -1;
    if (f->timeout_ms >= 0 && (put_cstr(w, "timeout") || msgpack_pack_int64(&w->pk, f->timeout_ms)))
        return -1;
    if (offset && (put_cstr(w, "offset") || put_cstr(w, offset)))
        return -1;
    return 0;
}

/* The adapter's rawOpts: {rooms, except, flags}. */
static int put_opts(writer *w, const adapter_broadcast *b)
{
    if (msgpack_pack_map(&w->pk, 3) || put_cstr(w, "rooms") ||
        put_strv(w, b->rooms, b->n_rooms) || put_cstr(w, "except") ||
        put_strv(w, b->except, b->n_except) || put_cstr(w, "flags"))
        return -1;
    return put_flags(w, &b->flags, b->offset);
}

static int put_broadcast(writer *w, const adapter_broadcast *b)
{
    if (!b->uid || msgpack_pack_array(&w->pk, 3) || put_cstr(w, b->uid))
        return -1;
    return put_packet(w, &b->packet) || put_opts(w, b) ? -1 : 0;
}

/* Runs an encoder; on failure the output keeps its previous length. */
static int finish(bytebuf *out, size_t mark, int rc)
{
    if (rc)
        out->len = mark;
    return rc ? -1 : 0;
}

int adapter_broadcast_encode(const adapter_broadcast *b, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, b->packet.bins, b->packet.n_bins);
    return finish(out, mark, put_broadcast(&w, b));
}

static int put_broadcast_request(writer *w, const char *uid, const char *request_id,
                                 const adapter_broadcast *b)
{
    if (!uid || !request_id || msgpack_pack_map(&w->pk, 5))
        return -1;
    if (put_cstr(w, "uid") || put_cstr(w, uid) || put_cstr(w, "requestId") ||
        put_cstr(w, request_id) || put_cstr(w, "type") ||
        msgpack_pack_int(&w->pk, ADAPTER_BROADCAST) || put_cstr(w, "packet"))
        return -1;
    return put_packet(w, &b->packet) || put_cstr(w, "opts") || put_opts(w, b) ? -1 : 0;
}

int adapter_broadcast_request_encode(const char *uid, const char *request_id,
                                     const adapter_broadcast *b, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, b->packet.bins, b->packet.n_bins);
    return finish(out, mark, put_broadcast_request(&w, uid, request_id, b));
}

/* An undefined argument (arg NULL) leaves `packet` out, as notepack skips it. */
static int put_ack(writer *w, const char *request_id, const json_t *arg)
{
    if (!request_id || msgpack_pack_map(&w->pk, arg ? 3 : 2) || put_cstr(w, "type") ||
        msgpack_pack_int(&w->pk, ADAPTER_BROADCAST_ACK) || put_cstr(w, "requestId") ||
        put_cstr(w, request_id))
        return -1;
    return arg && (put_cstr(w, "packet") || notepack_put_json(w, arg)) ? -1 : 0;
}

int adapter_broadcast_ack_encode(const char *request_id, const json_t *arg,
                                 const adapter_bin *bins, size_t n_bins, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, bins, n_bins);
    return finish(out, mark, put_ack(&w, request_id, arg));
}

/* ------------------------------------------------------- originated requests */

static json_t *names_json(char *const *v, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (json_array_append_new(list, json_string(v[i]))) {
            json_decref(list);
            return NULL;
        }
    return list;
}

/* {uid, [requestId,] type}: the head every originated request starts with. */
static json_t *request_head(const adapter_request *r, int with_id)
{
    json_t *o = json_object();
    if (o && json_object_set_new(o, "uid", json_string(r->uid ? r->uid : "")))
        return json_decref(o), NULL;
    if (o && with_id && json_object_set_new(o, "requestId", json_string(r->request_id)))
        return json_decref(o), NULL;
    if (o && json_object_set_new(o, "type", json_integer(r->type)))
        return json_decref(o), NULL;
    return o;
}

/* The request's JSON object, keys in JSON.stringify's order of the Node adapter. */
static json_t *request_object(const adapter_request *r)
{
    int with_id = r->type == ADAPTER_SOCKETS || r->type == ADAPTER_ALL_ROOMS ||
                  r->type == ADAPTER_REMOTE_FETCH;
    if ((with_id && !r->request_id) || r->type < ADAPTER_SOCKETS || r->type > ADAPTER_REMOTE_FETCH)
        return NULL;
    json_t *o = request_head(r, with_id);
    json_t *opts = o && r->type != ADAPTER_ALL_ROOMS
                       ? json_pack("{soso}", "rooms", names_json(r->opts_rooms, r->n_opts_rooms),
                                   "except", names_json(r->opts_except, r->n_opts_except))
                       : NULL;
    int rc = !o || (r->type != ADAPTER_ALL_ROOMS && (!opts || json_object_set_new(o, "opts", opts)));
    if (!rc && (r->type == ADAPTER_REMOTE_JOIN || r->type == ADAPTER_REMOTE_LEAVE))
        rc = json_object_set_new(o, "rooms", names_json(r->rooms, r->n_rooms));
    if (!rc && r->type == ADAPTER_REMOTE_DISCONNECT)
        rc = json_object_set_new(o, "close", json_boolean(r->close));
    if (rc)
        json_decref(o);
    return rc ? NULL : o;
}

int adapter_request_encode(const adapter_request *r, bytebuf *out)
{
    json_t *o = request_object(r);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    int rc = text && bytebuf_append(out, text, strlen(text)) == 0 ? 0 : -1;
    free(text);
    return rc;
}

/* ------------------------------------------------------- cluster-adapter form */

/* opts {rooms, except, flags} as JSON (shared by both forms). */
static int opts_from_json(const json_t *opts, const adapter_limits *lim, adapter_broadcast *b)
{
    size_t budget = lim->max_rooms;
    if (!json_is_object(opts))
        return AM_ERR_FORMAT;
    int rc = room_list(json_object_get(opts, "rooms"), &budget, &b->rooms, &b->n_rooms);
    if (rc == AM_OK)
        rc = room_list(json_object_get(opts, "except"), &budget, &b->except, &b->n_except);
    return rc == AM_OK ? read_flags(json_object_get(opts, "flags"), &b->flags) : rc;
}

static int cluster_fields(const msgpack_object *top, const adapter_limits *lim, adapter_broadcast *out)
{
    if (top->type != MSGPACK_OBJECT_MAP || mp_unique_keys(top) || mp_map_get(top, "requestId"))
        return AM_ERR_FORMAT; /* a broadcast with ack travels on pub/sub, never in the stream */
    const msgpack_object *packet = mp_map_get(top, "packet"), *opts = mp_map_get(top, "opts");
    if (!packet || !opts)
        return AM_ERR_FORMAT;
    int rc = packet_decode(packet, lim, &out->packet);
    json_t *o = NULL;
    if (rc == AM_OK)
        rc = value_plain(opts, lim, &o);
    if (rc == AM_OK)
        rc = opts_from_json(o, lim, out);
    json_decref(o);
    return rc;
}

int adapter_cluster_broadcast_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                                     adapter_broadcast *out)
{
    return decode_broadcast(msg, len, lim, out, cluster_fields);
}

static int cluster_json_fields(const json_t *top, const adapter_limits *lim, adapter_broadcast *out)
{
    const json_t *packet = json_object_get(top, "packet");
    if (!json_is_object(top) || json_object_get(top, "requestId") || !json_is_object(packet))
        return AM_ERR_FORMAT;
    int rc = packet_header(json_object_get(packet, "type"), json_object_get(packet, "nsp"),
                           json_object_get(packet, "id"), &out->packet);
    const json_t *data = json_object_get(packet, "data");
    if (rc == AM_OK && data)
        out->packet.data = json_deep_copy(data);
    if (rc == AM_OK && data && !out->packet.data)
        rc = AM_ERR_NOMEM;
    return rc == AM_OK ? opts_from_json(json_object_get(top, "opts"), lim, out) : rc;
}

int adapter_cluster_broadcast_decode_json(const char *text, size_t len, const adapter_limits *lim,
                                          adapter_broadcast *out)
{
    lim = limits_or_default(lim);
    broadcast_init(out);
    if (len > lim->max_string)
        return AM_ERR_LIMIT;
    json_t *top = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = top ? cluster_json_fields(top, lim, out) : AM_ERR_FORMAT;
    json_decref(top);
    if (rc)
        adapter_broadcast_clear(out);
    return rc;
}

static int put_cluster_broadcast(writer *w, const adapter_broadcast *b)
{
    if (msgpack_pack_map(&w->pk, 2) || put_cstr(w, "packet") || put_packet(w, &b->packet) ||
        put_cstr(w, "opts") || msgpack_pack_map(&w->pk, 3) || put_cstr(w, "rooms") ||
        put_strv(w, b->rooms, b->n_rooms) || put_cstr(w, "except") ||
        put_strv(w, b->except, b->n_except) || put_cstr(w, "flags"))
        return -1;
    return put_flags(w, &b->flags, NULL);
}

int adapter_cluster_broadcast_encode(const adapter_broadcast *b, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, b->packet.bins, b->packet.n_bins);
    return finish(out, mark, put_cluster_broadcast(&w, b));
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *flags_json(const adapter_flags *f)
{
    json_t *o = json_object();
    if (o && f->is_volatile)
        json_object_set_new(o, "volatile", json_true());
    if (o && f->compress >= 0)
        json_object_set_new(o, "compress", json_boolean(f->compress));
    if (o && f->local)
        json_object_set_new(o, "local", json_true());
    if (o && f->timeout_ms >= 0)
        json_object_set_new(o, "timeout", json_integer(f->timeout_ms));
    return o;
}

char *adapter_cluster_broadcast_json(const adapter_broadcast *b)
{
    const adapter_packet *p = &b->packet;
    if (p->n_bins)
        return NULL;
    json_t *packet = json_pack("{si}", "type", p->type);
    if (packet && p->data)
        json_object_set(packet, "data", p->data);
    if (packet)
        json_object_set_new(packet, "nsp", json_string(p->nsp ? p->nsp : "/"));
    if (packet && p->id >= 0)
        json_object_set_new(packet, "id", json_integer(p->id));
    json_t *top = packet ? json_pack("{so s{sososo}}", "packet", packet, "opts", "rooms",
                                     strv_json(b->rooms, b->n_rooms), "except",
                                     strv_json(b->except, b->n_except), "flags",
                                     flags_json(&b->flags))
                         : NULL;
    char *text = top ? json_dumps(top, JSON_COMPACT) : NULL;
    json_decref(top);
    return text;
}

/* ------------------------------------------------------- sharded-adapter form */

static int json_message(const uint8_t *msg, size_t len, const adapter_limits *lim, json_t **out)
{
    json_t *v = parse_json(msg, len);
    int rc = !json_is_object(v) ? AM_ERR_FORMAT : json_within(v, lim, 0);
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return AM_OK;
}

int adapter_cluster_message_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                                   json_t **out, adapter_bin **bins, size_t *n_bins)
{
    lim = limits_or_default(lim);
    *out = NULL;
    if (len == 0 || len > lim->max_string)
        return len ? AM_ERR_LIMIT : AM_ERR_FORMAT;
    int rc = msg[0] == '{' ? json_message(msg, len, lim, out)
                           : adapter_value_decode(msg, len, lim, out, bins, n_bins);
    if (rc == AM_OK && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        free_bins(*bins, 0, *n_bins);
        free(*bins);
        *bins = NULL;
        *n_bins = 0;
        rc = AM_ERR_FORMAT;
    }
    return rc;
}

int adapter_cluster_broadcast_from_json(const json_t *data, adapter_bin *bins, size_t n_bins,
                                        const adapter_limits *lim, adapter_broadcast *out)
{
    lim = limits_or_default(lim);
    broadcast_init(out);
    int rc = n_bins > lim->max_bins ? AM_ERR_LIMIT : cluster_json_fields(data, lim, out);
    out->packet.bins = bins;
    out->packet.n_bins = n_bins;
    if (rc)
        adapter_broadcast_clear(out);
    return rc;
}

int adapter_cluster_message_broadcast_encode(const char *uid, const char *nsp,
                                             const adapter_broadcast *b, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, b->packet.bins, b->packet.n_bins);
    int rc = msgpack_pack_map(&w.pk, 4) || put_cstr(&w, "uid") || put_cstr(&w, uid) ||
             put_cstr(&w, "nsp") || put_cstr(&w, nsp) || put_cstr(&w, "type") ||
             msgpack_pack_int(&w.pk, 3) || put_cstr(&w, "data") || put_cluster_broadcast(&w, b);
    return finish(out, mark, rc ? -1 : 0);
}

int adapter_value_encode(const json_t *v, const adapter_bin *bins, size_t n_bins, bytebuf *out)
{
    writer w;
    size_t mark = out->len;
    writer_init(&w, out, bins, n_bins);
    return finish(out, mark, notepack_put_json(&w, v));
}
