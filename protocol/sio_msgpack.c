/* sio_msgpack: socket.io-msgpack-parser packets <-> sio_packet; see sio_msgpack.h.
 *
 * The reader is our own (a cursor over the message): msgpack-c's unpacker
 * allocates every array / map up front from its declared count and stops at 32
 * levels, and this one checks every count and length against the bytes left
 * before using it and builds the JSON as it goes. The writer is msgpack-c's
 * packer (the smallest int forms, as notepack picks them) into a bytebuf. */
#include "sio_msgpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "notepack_json.h"

#define SIO_MAX_ACK_ID ((int64_t)9007199254740991) /* Number.MAX_SAFE_INTEGER */
#define JS_MAX_TIME_MS 8.64e15                      /* beyond: an invalid Date */

static const sio_limits default_limits = {10, 256};

/* ------------------------------------------------------------------ reading */

typedef struct mp_reader {
    const uint8_t *s;
    size_t len, pos;
    uint32_t max_bins;
    int allow_bins;      /* while reading `data` */
    sio_span *bins;
    uint32_t n_bins, cap_bins;
} mp_reader;

typedef enum mp_kind {
    MP_BAD, MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_EXT, MP_FIXEXT,
    MP_ARRAY, MP_MAP,
} mp_kind;

/* One header: its kind, then the value (numbers), the length (str, bin, ext:
 * payload bytes; array: values; map: pairs) and the ext type. */
typedef struct mp_head {
    mp_kind kind;
    uint64_t n;
    int64_t i;
    double f;
    int8_t ext;
    uint8_t fixext;      /* an ext of the fixext forms d4..d8 */
} mp_head;

/* The forms c0..df: kind, width of the value or length field, fixed length. */
typedef struct mp_form {
    uint8_t kind, width, fixed;
} mp_form;

static const mp_form forms[32] = {
    {MP_NIL, 0, 0},    {MP_BAD, 0, 0},    {MP_BOOL, 0, 0},   {MP_BOOL, 0, 1},
    {MP_BIN, 1, 0},    {MP_BIN, 2, 0},    {MP_BIN, 4, 0},    {MP_EXT, 1, 0},
    {MP_EXT, 2, 0},    {MP_EXT, 4, 0},    {MP_FLOAT, 4, 0},  {MP_FLOAT, 8, 0},
    {MP_UINT, 1, 0},   {MP_UINT, 2, 0},   {MP_UINT, 4, 0},   {MP_UINT, 8, 0},
    {MP_INT, 1, 0},    {MP_INT, 2, 0},    {MP_INT, 4, 0},    {MP_INT, 8, 0},
    {MP_FIXEXT, 0, 1}, {MP_FIXEXT, 0, 2}, {MP_FIXEXT, 0, 4}, {MP_FIXEXT, 0, 8},
    {MP_FIXEXT, 0, 16}, {MP_STR, 1, 0},   {MP_STR, 2, 0},    {MP_STR, 4, 0},
    {MP_ARRAY, 2, 0},  {MP_ARRAY, 4, 0},  {MP_MAP, 2, 0},    {MP_MAP, 4, 0},
};

static size_t left(const mp_reader *r)
{
    return r->len - r->pos;
}

static uint64_t take_be(mp_reader *r, size_t n) /* n bytes are there */
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | r->s[r->pos++];
    return v;
}

static int64_t sign_extend(uint64_t v, unsigned width)
{
    switch (width) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    }
    return (int64_t)v;
}

static double to_float(uint64_t v, unsigned width)
{
    if (width == 4) {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof(f));
        return f;
    }
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

/* A declared length or count must fit in what is left: each value takes a byte. */
static sio_status check_size(const mp_reader *r, const mp_head *h)
{
    switch (h->kind) {
    case MP_STR:
    case MP_BIN:
    case MP_EXT:
    case MP_ARRAY: return h->n <= left(r) ? SIO_OK : SIO_ERR_JSON;
    case MP_MAP: return h->n <= left(r) / 2 ? SIO_OK : SIO_ERR_JSON;
    default: return SIO_OK;
    }
}

static sio_status read_tagged(mp_reader *r, uint8_t b, mp_head *h)
{
    const mp_form *f = &forms[b - 0xc0];
    if (f->kind == MP_BAD || left(r) < (size_t)f->width + (f->kind >= MP_EXT && f->kind <= MP_FIXEXT))
        return SIO_ERR_JSON;
    uint64_t v = take_be(r, f->width);
    h->kind = f->kind == MP_FIXEXT ? MP_EXT : (mp_kind)f->kind;
    h->fixext = f->kind == MP_FIXEXT;
    h->n = f->kind == MP_FIXEXT || f->kind == MP_BOOL ? f->fixed : v;
    if (f->kind == MP_INT || f->kind == MP_UINT)
        h->i = f->kind == MP_INT ? sign_extend(v, f->width) : (int64_t)v;
    if (f->kind == MP_FLOAT)
        h->f = to_float(v, f->width);
    if (h->kind == MP_EXT)
        h->ext = (int8_t)take_be(r, 1);
    return check_size(r, h);
}

static sio_status read_head(mp_reader *r, mp_head *h)
{
    *h = (mp_head){MP_BAD, 0, 0, 0, 0, 0};
    if (left(r) < 1)
        return SIO_ERR_JSON;
    uint8_t b = r->s[r->pos++];
    if (b < 0x80 || b >= 0xe0) {
        h->kind = b < 0x80 ? MP_UINT : MP_INT;
        h->i = (int8_t)b;
        h->n = b; /* the positive fixint's value */
        return SIO_OK;
    }
    if (b >= 0xc0)
        return read_tagged(r, b, h);
    h->kind = b < 0x90 ? MP_MAP : b < 0xa0 ? MP_ARRAY : MP_STR;
    h->n = b < 0xa0 ? b & 0x0f : b & 0x1f;
    return check_size(r, h);
}

/* ---- values -------------------------------------------------------------------- */

static sio_status read_value(mp_reader *r, int depth, json_t **out);

static sio_status made(json_t **out, json_t *v)
{
    *out = v;
    return v ? SIO_OK : SIO_ERR_NOMEM;
}

static sio_status read_str(mp_reader *r, size_t n, json_t **out)
{
    *out = json_stringn((const char *)r->s + r->pos, n);
    r->pos += n;
    return *out ? SIO_OK : SIO_ERR_PAYLOAD; /* invalid UTF-8 (or no memory) */
}

static json_t *placeholder(uint32_t num)
{
    return json_pack("{sbsi}", "_placeholder", 1, "num", (json_int_t)num);
}

static sio_status add_bin(mp_reader *r, size_t n)
{
    if (!r->allow_bins || r->n_bins >= r->max_bins)
        return SIO_ERR_ATTACHMENTS;
    if (r->n_bins == r->cap_bins) {
        uint32_t cap = r->cap_bins ? r->cap_bins * 2 : 4;
        sio_span *grown = realloc(r->bins, cap * sizeof(*grown));
        if (!grown)
            return SIO_ERR_NOMEM;
        r->bins = grown;
        r->cap_bins = cap;
    }
    r->bins[r->n_bins++] = (sio_span){r->s + r->pos, n};
    r->pos += n;
    return SIO_OK;
}

static sio_status read_bin(mp_reader *r, size_t n, json_t **out)
{
    sio_status st = add_bin(r, n);
    return st ? st : made(out, placeholder(r->n_bins - 1));
}

/* The proleptic Gregorian date of `day` (0 = 1970-01-01): H. Hinnant's civil_from_days. */
static void civil_from_days(int64_t day, int64_t *y, int *m, int *d)
{
    int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Date.prototype.toJSON of a time value in ms: its ISO string (years beyond
 * 0..9999 as +/-YYYYYY), null when it is no valid Date. */
static json_t *iso_time(double ms)
{
    if (!isfinite(ms) || fabs(ms) > JS_MAX_TIME_MS)
        return json_null();
    int64_t t = (int64_t)ms, day = t / 86400000, in_day = t % 86400000, y;
    if (in_day < 0) {
        in_day += 86400000;
        day--;
    }
    int m, d;
    civil_from_days(day, &y, &m, &d);
    char text[40], year[16];
    if (y >= 0 && y <= 9999)
        snprintf(year, sizeof(year), "%04d", (int)y);
    else
        snprintf(year, sizeof(year), "%c%06d", y < 0 ? '-' : '+', (int)(y < 0 ? -y : y));
    snprintf(text, sizeof(text), "%s-%02d-%02dT%02d:%02d:%02d.%03dZ", year, m, d,
             (int)(in_day / 3600000), (int)(in_day / 60000 % 60), (int)(in_day / 1000 % 60),
             (int)(in_day % 1000));
    return json_string(text);
}

/* The timestamp extension (type -1) in its 32-, 64- and 96-bit forms, and
 * notepack's own Date (fixext 8 of type 0), as milliseconds. */
static double ext_time(mp_reader *r, const mp_head *h)
{
    if (h->ext == 0 || h->n == 8) { /* notepack's Date, or timestamp 64 */
        uint64_t hi = take_be(r, 4), lo = take_be(r, 4);
        if (h->ext == 0)
            return (double)(int32_t)hi * 4294967296.0 + (double)lo;
        return ((double)(hi & 3) * 4294967296.0 + (double)lo) * 1e3 + (double)(hi >> 2) / 1e6;
    }
    if (h->n == 4)
        return (double)take_be(r, 4) * 1e3;
    double ns = (double)take_be(r, 4);
    return (double)(int64_t)take_be(r, 8) * 1e3 + ns / 1e6;
}

static int is_time_ext(const mp_head *h)
{
    if (h->ext == -1)
        return (h->fixext && (h->n == 4 || h->n == 8)) || (!h->fixext && h->n == 12);
    return h->ext == 0 && h->fixext && h->n == 8;
}

/* What notepack makes of an ext: undefined (fixext 1 of type 0), a Date, an
 * ArrayBuffer (another ext of type 0), else [type, Buffer]. */
static sio_status read_ext(mp_reader *r, const mp_head *h, json_t **out)
{
    if (h->ext == 0 && h->fixext && h->n == 1) {
        r->pos += 1;
        *out = NULL; /* undefined */
        return SIO_OK;
    }
    if (is_time_ext(h))
        return made(out, iso_time(ext_time(r, h)));
    if (h->ext == 0 && !h->fixext)
        return read_bin(r, h->n, out);
    json_t *bin = NULL;
    sio_status st = read_bin(r, h->n, &bin);
    return st ? st : made(out, json_pack("[Io]", (json_int_t)h->ext, bin)); /* o: bin is taken */
}

static sio_status read_array(mp_reader *r, uint64_t n, int depth, json_t **out)
{
    if (depth > SIO_MSGPACK_MAX_DEPTH)
        return SIO_ERR_PAYLOAD;
    json_t *a = json_array(), *v = NULL;
    sio_status st = a ? SIO_OK : SIO_ERR_NOMEM;
    for (uint64_t i = 0; i < n && st == SIO_OK; i++)
        if ((st = read_value(r, depth, &v)) == SIO_OK && json_array_append_new(a, v ? v : json_null()))
            st = SIO_ERR_NOMEM;
    if (st != SIO_OK)
        json_decref(a);
    *out = st == SIO_OK ? a : NULL;
    return st;
}

/* A map key: a string (JavaScript's keys are), returned as a view. */
static sio_status read_key(mp_reader *r, const char **key, size_t *len)
{
    mp_head h;
    sio_status st = read_head(r, &h);
    if (st != SIO_OK)
        return st;
    if (h.kind != MP_STR)
        return SIO_ERR_PAYLOAD;
    *key = (const char *)r->s + r->pos;
    *len = (size_t)h.n;
    r->pos += (size_t)h.n;
    return SIO_OK;
}

/* One member; an undefined value leaves it out, as JSON.stringify does. */
static sio_status read_member(mp_reader *r, json_t *obj, int depth)
{
    const char *key;
    size_t klen;
    json_t *v = NULL;
    sio_status st = read_key(r, &key, &klen);
    if (st == SIO_OK && (json_object_getn(obj, key, klen) || memchr(key, '\0', klen)))
        st = SIO_ERR_PAYLOAD; /* repeated: its first value (and bins) would be lost; a NUL
                                 the text form (jansson) cannot read back in a key */
    if (st == SIO_OK)
        st = read_value(r, depth, &v);
    if (st == SIO_OK && v && json_object_setn_new(obj, key, klen, v))
        st = SIO_ERR_PAYLOAD; /* a key that is not UTF-8 (v is released) */
    return st;
}

/* A literal {"_placeholder": true} would read as a reference to a bin: refused. */
static sio_status read_map(mp_reader *r, uint64_t n, int depth, json_t **out)
{
    if (depth > SIO_MSGPACK_MAX_DEPTH)
        return SIO_ERR_PAYLOAD;
    json_t *obj = json_object();
    sio_status st = obj ? SIO_OK : SIO_ERR_NOMEM;
    for (uint64_t i = 0; i < n && st == SIO_OK; i++)
        st = read_member(r, obj, depth);
    if (st == SIO_OK && json_is_true(json_object_get(obj, "_placeholder")))
        st = SIO_ERR_PAYLOAD;
    if (st != SIO_OK)
        json_decref(obj);
    *out = st == SIO_OK ? obj : NULL;
    return st;
}

static sio_status read_value(mp_reader *r, int depth, json_t **out)
{
    mp_head h;
    sio_status st = read_head(r, &h);
    *out = NULL;
    if (st != SIO_OK)
        return st;
    switch (h.kind) {
    case MP_NIL: return made(out, json_null());
    case MP_BOOL: return made(out, json_boolean(h.n));
    case MP_UINT: return made(out, h.i >= 0 ? json_integer(h.i) : json_real((double)(uint64_t)h.i));
    case MP_INT: return made(out, json_integer(h.i));
    case MP_FLOAT: return made(out, isfinite(h.f) ? json_real(h.f) : json_null());
    case MP_STR: return read_str(r, (size_t)h.n, out);
    case MP_BIN: return read_bin(r, (size_t)h.n, out);
    case MP_EXT: return read_ext(r, &h, out);
    case MP_ARRAY: return read_array(r, h.n, depth + 1, out);
    case MP_MAP: return read_map(r, h.n, depth + 1, out);
    default: return SIO_ERR_JSON;
    }
}

/* ---- the packet ------------------------------------------------------------------ */

enum { F_TYPE, F_NSP, F_ID, F_DATA, N_FIELDS };
static const char *const field_names[N_FIELDS] = {"type", "nsp", "id", "data"};

/* The top-level members: the four fields (undefined ones stay NULL), others
 * read and dropped (socket.io-client sends `options`). */
typedef struct mp_fields {
    json_t *v[N_FIELDS];
    unsigned seen;
} mp_fields;

static int field_of(const char *key, size_t len)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (strlen(field_names[i]) == len && memcmp(field_names[i], key, len) == 0)
            return i;
    return -1;
}

static sio_status read_field(mp_reader *r, mp_fields *f)
{
    const char *key;
    size_t klen;
    json_t *v = NULL;
    sio_status st = read_key(r, &key, &klen);
    if (st != SIO_OK)
        return st;
    int i = field_of(key, klen);
    if (i >= 0 && (f->seen & (1u << i)))
        return SIO_ERR_PAYLOAD;
    r->allow_bins = i == F_DATA;
    st = read_value(r, 0, &v);
    r->allow_bins = 0;
    if (i >= 0) {
        f->seen |= 1u << i;
        f->v[i] = v;
    } else {
        json_decref(v);
    }
    return st;
}

static void fields_clear(mp_fields *f)
{
    for (int i = 0; i < N_FIELDS; i++)
        json_decref(f->v[i]);
}

/* Number.isInteger: an integer, or a real without fraction (within int64). */
static int json_integral(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    double d = json_is_real(v) ? json_real_value(v) : 0.5;
    if (d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return 0;
    *out = (int64_t)d;
    return 1;
}

static sio_status check_type(const json_t *t, sio_packet_type *out)
{
    int64_t v;
    if (!json_integral(t, &v) || v < SIO_CONNECT || v > SIO_CONNECT_ERROR)
        return SIO_ERR_TYPE;
    *out = (sio_packet_type)v;
    return SIO_OK;
}

static sio_status check_nsp(const json_t *n, size_t max_len, char **out)
{
    const char *s = json_string_value(n);
    size_t len = json_string_length(n);
    if (!s || len == 0 || s[0] != '/' || len > max_len || strlen(s) != len || strchr(s, ','))
        return SIO_ERR_NSP;
    if (!(*out = malloc(len + 1)))
        return SIO_ERR_NOMEM;
    memcpy(*out, s, len + 1);
    return SIO_OK;
}

static sio_status check_id(const json_t *id, int64_t *out)
{
    *out = -1;
    if (!id)
        return SIO_OK;
    if (!json_integral(id, out) || *out < 0 || *out > SIO_MAX_ACK_ID)
        return SIO_ERR_ID;
    return SIO_OK;
}

static int is_event_data(const json_t *d)
{
    const json_t *name = json_array_get(d, 0);
    const char *s = json_string_value(name);
    return s && !(strlen(s) == json_string_length(name) && sio_is_reserved_event(s));
}

/* isDataValid of the reference; an EVENT's name is checked as the text parser does. */
static int data_valid(sio_packet_type type, const json_t *d)
{
    switch (type) {
    case SIO_CONNECT: return !d || json_is_object(d);
    case SIO_DISCONNECT: return !d;
    case SIO_CONNECT_ERROR: return json_is_string(d) || json_is_object(d);
    case SIO_EVENT: return json_is_array(d) && is_event_data(d);
    case SIO_ACK: return json_is_array(d);
    default: return 0;
    }
}

static sio_status fill_packet(mp_fields *f, const mp_reader *r, const sio_limits *lim, sio_packet *p)
{
    sio_status st = check_type(f->v[F_TYPE], &p->type);
    if (st == SIO_OK)
        st = check_nsp(f->v[F_NSP], lim->max_nsp_len, &p->nsp);
    if (st == SIO_OK)
        st = check_id(f->v[F_ID], &p->id);
    if (st == SIO_OK && !data_valid(p->type, f->v[F_DATA]))
        st = SIO_ERR_PAYLOAD;
    if (st == SIO_OK && r->n_bins && p->type != SIO_EVENT && p->type != SIO_ACK)
        st = SIO_ERR_ATTACHMENTS;
    if (st != SIO_OK)
        return st;
    p->data = f->v[F_DATA];
    f->v[F_DATA] = NULL;
    p->attachments = r->n_bins;
    if (r->n_bins)
        p->type = p->type == SIO_EVENT ? SIO_BINARY_EVENT : SIO_BINARY_ACK;
    return SIO_OK;
}

static sio_status read_packet(mp_reader *r, const sio_limits *lim, sio_packet *p)
{
    mp_head h;
    mp_fields f = {{NULL, NULL, NULL, NULL}, 0};
    sio_status st = read_head(r, &h);
    if (st == SIO_OK && h.kind != MP_MAP)
        st = SIO_ERR_PAYLOAD;
    for (uint64_t i = 0; st == SIO_OK && i < h.n; i++)
        st = read_field(r, &f);
    if (st == SIO_OK && r->pos != r->len)
        st = SIO_ERR_JSON; /* trailing bytes */
    if (st == SIO_OK)
        st = fill_packet(&f, r, lim, p);
    fields_clear(&f);
    return st;
}

sio_status sio_msgpack_decode(const uint8_t *msg, size_t len, const sio_limits *lim,
                              sio_packet *out, sio_span **bins)
{
    *out = (sio_packet){SIO_CONNECT, NULL, -1, 0, NULL};
    *bins = NULL;
    if (!msg || len == 0)
        return SIO_ERR_EMPTY;
    lim = lim ? lim : &default_limits;
    mp_reader r = {msg, len, 0, lim->max_attachments, 0, NULL, 0, 0};
    sio_status st = read_packet(&r, lim, out);
    if (st != SIO_OK) {
        sio_packet_clear(out);
        free(r.bins);
        return st;
    }
    if (r.n_bins)
        *bins = r.bins;
    else
        free(r.bins);
    return SIO_OK;
}

/* ------------------------------------------------------------------ writing */

/* notepack's JSON writer; in BINARY_* packets its placeholders name bins
 * (elsewhere they are plain maps: no hook). */
typedef notepack_writer mp_writer;

/* {"_placeholder": true, "num": i}: bins[i] as a bin. */
static int put_placeholder(mp_writer *w, const json_t *obj)
{
    int64_t num;
    if (!json_integral(json_object_get(obj, "num"), &num) || num < 0 || (uint64_t)num >= w->n_bins)
        return -1;
    const sio_span *b = &((const sio_span *)w->bins)[num];
    if (b->len > UINT32_MAX || msgpack_pack_bin(&w->pk, b->len))
        return -1;
    return msgpack_pack_bin_body(&w->pk, b->data, b->len) ? -1 : 0;
}

static int put_str(mp_writer *w, const char *s, size_t len)
{
    return notepack_put_str(w, s, len);
}

/* {type, data, nsp[, id]}: socket.io's packet as notepack writes it. */
static int put_packet(mp_writer *w, const sio_packet *p)
{
    int type = p->type == SIO_BINARY_EVENT ? SIO_EVENT : p->type == SIO_BINARY_ACK ? SIO_ACK : (int)p->type;
    size_t n = 2 + (p->data != NULL) + (p->id >= 0);
    if (msgpack_pack_map(&w->pk, n) || put_str(w, "type", 4) || msgpack_pack_int(&w->pk, type))
        return -1;
    if (p->data && (put_str(w, "data", 4) || notepack_put_json(w, p->data)))
        return -1;
    const char *nsp = p->nsp && p->nsp[0] ? p->nsp : "/";
    if (put_str(w, "nsp", 3) || put_str(w, nsp, strlen(nsp)))
        return -1;
    return p->id >= 0 && (put_str(w, "id", 2) || msgpack_pack_int64(&w->pk, p->id)) ? -1 : 0;
}

int sio_msgpack_encode(const sio_packet *p, const sio_span *bins, size_t n_bins, bytebuf *out)
{
    if ((unsigned)p->type > SIO_BINARY_ACK)
        return -1;
    int binary = p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK;
    mp_writer w;
    notepack_writer_init(&w, out, binary ? put_placeholder : NULL, bins, n_bins);
    size_t mark = out->len;
    if (put_packet(&w, p) == 0)
        return 0;
    out->len = mark;
    return -1;
}
