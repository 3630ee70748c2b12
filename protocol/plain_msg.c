/* plain_msg: decodes and encodes the messages of plain WebSocket clients.
 * See plain_msg.h. JSON parsing is jansson's, JSON writing sio_json_append()'s
 * (JSON.stringify's bytes); query strings are read as Node's querystring does. */
#include "plain_msg.h"

#include <string.h>

#include "eio_query.h" /* eio_query_decode */
#include "ws_frame.h"  /* ws_utf8 */

/* Largest id accepted: Number.MAX_SAFE_INTEGER, as for Socket.IO ack ids. */
#define PLAIN_MAX_ID ((json_int_t)9007199254740991)

/* Deepest level of a value in the argument array, jansson's parse limit: what
 * the message becomes must parse again, as a Socket.IO payload [name, data]
 * and as the plain text {"event":name,"data":data} (both nest as the array).
 * The whole object as an event's data is one level deeper there than it came. */
#define PLAIN_MAX_DEPTH JSON_PARSER_MAX_DEPTH

static const plain_fields default_fields = {"event", "data", "id"};

static int is_event_type(sio_packet_type t)
{
    return t == SIO_EVENT || t == SIO_BINARY_EVENT;
}

static int is_ack_type(sio_packet_type t)
{
    return t == SIO_ACK || t == SIO_BINARY_ACK;
}

/* ------------------------------------------------------------------ decoding */

/* As sio_packet.c reads a Socket.IO payload, so that both kinds of client may
 * send the same data: NUL inside strings allowed; integers beyond int64 read
 * as reals (JSON.parse reads every number as a double). */
static plain_status parse_json(const char *s, size_t len, json_t **out)
{
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t err;
    *out = json_loadb(s, len, flags, &err);
    if (!*out && json_error_code(&err) == json_error_numeric_overflow)
        *out = json_loadb(s, len, flags | JSON_DECODE_INT_AS_REAL, &err);
    if (*out)
        return PLAIN_OK;
    return json_error_code(&err) == json_error_out_of_memory ? PLAIN_ERR_NOMEM : PLAIN_ERR_JSON;
}

/* 1 when v holds an object with "_placeholder": true (a forged attachment
 * reference), or a value deeper than level PLAIN_MAX_DEPTH; `depth` is v's
 * level in the argument array (the array itself is 1; scalars count, as in
 * jansson's parser). */
static int forged_or_deep(const json_t *v, int depth)
{
    if (depth > PLAIN_MAX_DEPTH)
        return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (forged_or_deep(json_array_get(v, i), depth + 1))
                return 1;
        return 0;
    }
    if (!json_is_object(v))
        return 0;
    if (json_is_true(json_object_get(v, "_placeholder")))
        return 1;
    const char *key;
    json_t *child;
    json_object_foreach(SIO_UNCONST(json_t *, v), key, child)
        if (forged_or_deep(child, depth + 1))
            return 1;
    return 0;
}

/* The id field: absent (-1), or an integer in [0, PLAIN_MAX_ID]. */
static int read_id(const json_t *root, const char *field, int64_t *id)
{
    const json_t *v = json_object_get(root, field);
    *id = -1;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > PLAIN_MAX_ID)
        return -1;
    *id = json_integer_value(v);
    return 0;
}

/* A string of 1..PLAIN_EVENT_MAX bytes with a C string form (no NUL). */
static int is_valid_name(const json_t *name)
{
    if (!json_is_string(name))
        return 0;
    size_t len = json_string_length(name);
    return len >= 1 && len <= PLAIN_EVENT_MAX && strlen(json_string_value(name)) == len;
}

/* args = [name, data], data being the whole object when the data field is absent. */
static plain_status decode_event(json_t *root, const json_t *name, const plain_fields *f,
                                 plain_in *out)
{
    if (!is_valid_name(name))
        return PLAIN_ERR_SHAPE;
    json_t *data = json_object_get(root, f->data);
    out->kind = PLAIN_EVENT;
    out->args = json_pack("[OO]", name, data ? data : root);
    return out->args ? PLAIN_OK : PLAIN_ERR_NOMEM;
}

/* args = [data], or [] without a data field. */
static plain_status decode_reply(const json_t *root, const plain_fields *f, plain_in *out)
{
    json_t *data = json_object_get(root, f->data);
    out->kind = PLAIN_REPLY;
    out->args = data ? json_pack("[O]", data) : json_array();
    return out->args ? PLAIN_OK : PLAIN_ERR_NOMEM;
}

static plain_status decode_object(json_t *root, const plain_fields *f, plain_in *out)
{
    if (!json_is_object(root))
        return PLAIN_ERR_SHAPE;
    const json_t *name = json_object_get(root, f->event);
    /* root's level in the argument array: 2 when it is the event's data */
    int level = name && !json_object_get(root, f->data) ? 2 : 1;
    if (forged_or_deep(root, level) || read_id(root, f->id, &out->id))
        return PLAIN_ERR_SHAPE;
    if (name)
        return decode_event(root, name, f, out);
    return out->id >= 0 ? decode_reply(root, f, out) : PLAIN_ERR_SHAPE;
}

plain_status plain_decode(const char *text, size_t len, const plain_fields *f, plain_in *out)
{
    *out = (plain_in){PLAIN_EVENT, -1, NULL};
    if (!text || len == 0)
        return PLAIN_ERR_JSON;
    json_t *root;
    plain_status st = parse_json(text, len, &root);
    if (st != PLAIN_OK)
        return st;
    st = decode_object(root, f ? f : &default_fields, out);
    json_decref(root);
    if (st != PLAIN_OK)
        plain_in_clear(out);
    return st;
}

void plain_in_clear(plain_in *in)
{
    json_decref(in->args);
    in->args = NULL;
    in->id = -1;
}

/* ------------------------------------------------------------------ encoding */

/* The arguments of a packet: data[from, to). */
typedef struct arg_range {
    const json_t *data;
    size_t from, to;
} arg_range;

/* EVENT: data[0] is a string name, the arguments follow; ACK: all arguments.
 * drop_last takes the last one off (there must be one). */
static int get_args(sio_packet_type type, const json_t *data, int drop_last, arg_range *r)
{
    if (!json_is_array(data) || (!is_event_type(type) && !is_ack_type(type)))
        return -1;
    if (is_event_type(type) && !json_is_string(json_array_get(data, 0)))
        return -1;
    *r = (arg_range){data, is_event_type(type) ? 1 : 0, json_array_size(data)};
    if (drop_last && r->to <= r->from)
        return -1;
    r->to -= drop_last ? 1 : 0;
    return 0;
}

/* `sep` ('{' or ','), then a configured field name as a JSON string, then ':'. */
static int append_key(bytebuf *out, char sep, const char *name)
{
    json_t *s = json_string(name);
    int rc = !s || bytebuf_append_byte(out, (uint8_t)sep) || sio_json_append(out, s) ||
             bytebuf_append_byte(out, ':');
    json_decref(s);
    return rc ? -1 : 0;
}

/* The data member: absent without arguments, the argument when there is one,
 * else the array of them. */
static int append_data(bytebuf *out, const arg_range *r, const plain_fields *f)
{
    if (r->to == r->from)
        return 0;
    if (append_key(out, ',', f->data))
        return -1;
    if (r->to - r->from == 1)
        return sio_json_append(out, json_array_get(r->data, r->from));
    if (bytebuf_append_byte(out, '['))
        return -1;
    for (size_t i = r->from; i < r->to; i++)
        if ((i > r->from && bytebuf_append_byte(out, ',')) ||
            sio_json_append(out, json_array_get(r->data, i)))
            return -1;
    return bytebuf_append_byte(out, ']');
}

/* The "attachments" member when there are any, and the closing brace. */
static int append_end(bytebuf *out, uint32_t n_attachments)
{
    if (n_attachments > 0 &&
        (bytebuf_append_str(out, ",\"attachments\":") || bytebuf_append_u64(out, n_attachments)))
        return -1;
    return bytebuf_append_byte(out, '}');
}

static int encode_event(const arg_range *r, int64_t id, uint32_t n_attachments,
                        const plain_fields *f, bytebuf *out)
{
    if (append_key(out, '{', f->event) || sio_json_append(out, json_array_get(r->data, 0)) ||
        append_data(out, r, f))
        return -1;
    if (id >= 0 && (append_key(out, ',', f->id) || bytebuf_append_u64(out, (uint64_t)id)))
        return -1;
    return append_end(out, n_attachments);
}

static int encode_ack(const arg_range *r, int64_t id, uint32_t n_attachments,
                      const plain_fields *f, bytebuf *out)
{
    if (id < 0 || append_key(out, '{', f->id) || bytebuf_append_u64(out, (uint64_t)id) ||
        append_data(out, r, f))
        return -1;
    return append_end(out, n_attachments);
}

int plain_encode(sio_packet_type type, int64_t id, const json_t *data, uint32_t n_attachments,
                 int drop_last, const plain_fields *f, bytebuf *out)
{
    arg_range r;
    if (get_args(type, data, drop_last, &r))
        return -1;
    f = f ? f : &default_fields;
    size_t mark = out->len;
    int rc = is_event_type(type) ? encode_event(&r, id, n_attachments, f, out)
                                 : encode_ack(&r, id, n_attachments, f, out);
    if (rc)
        out->len = mark;
    return rc;
}

int plain_single_binary(sio_packet_type type, const json_t *data, uint32_t n_attachments,
                        int drop_last)
{
    arg_range r;
    if (!is_event_type(type) || n_attachments != 1 || get_args(type, data, drop_last, &r) ||
        r.to - r.from != 1)
        return 0;
    const json_t *arg = json_array_get(data, r.from);
    /* a placeholder whose num is 0: the only one sio_count_placeholders(, 1) accepts */
    return json_is_true(json_object_get(arg, "_placeholder")) && sio_count_placeholders(arg, 1) == 1;
}

/* ------------------------------------------------------------------ query string */

/* Appends [p, end) percent-decoded (eio_query_decode: Node's querystring). */
static int url_decode(const char *p, const char *end, bytebuf *out)
{
    size_t room = (size_t)(end - p);
    if (!room)
        return 0;
    if (bytebuf_reserve(out, room))
        return -1;
    out->len += eio_query_decode(p, end, (char *)out->data + out->len, room);
    return 0;
}

/* Valid UTF-8 without NUL. */
static int is_text(const char *s, size_t len)
{
    ws_utf8 u = {0};
    return !memchr(s, '\0', len) && ws_utf8_feed(&u, (const uint8_t *)s, len) == 0 &&
           ws_utf8_complete(&u);
}

/* One non-empty "key=value" part into obj, decoded in `buf` as key NUL value.
 * Returns 0 (set, or skipped) or -1 (out of memory). */
static int add_param(json_t *obj, const char *p, const char *end, bytebuf *buf)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    buf->len = 0;
    if (url_decode(p, eq ? eq : end, buf) || bytebuf_append_byte(buf, '\0'))
        return -1;
    size_t key_len = buf->len - 1;
    if (url_decode(eq ? eq + 1 : end, end, buf))
        return -1;
    const char *key = (const char *)buf->data, *value = key + key_len + 1;
    size_t value_len = buf->len - key_len - 1;
    if (key_len == 0 || !is_text(key, key_len) || !is_text(value, value_len))
        return 0;
    json_t *s = json_stringn_nocheck(value, value_len);
    return s && json_object_set_new_nocheck(obj, key, s) == 0 ? 0 : -1;
}

/* Reads up to max_params non-empty '&'-separated parts into obj. */
static int add_params(json_t *obj, const char *p, const char *end, size_t max_params)
{
    bytebuf buf = BYTEBUF_INIT;
    int rc = 0;
    for (size_t n = 0; p < end && n < max_params && rc == 0;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p) {
            rc = add_param(obj, p, e, &buf);
            n++;
        }
        p = amp ? amp + 1 : end;
    }
    bytebuf_free(&buf);
    return rc;
}

json_t *plain_query_object(const char *query, size_t len, size_t max_params)
{
    json_t *obj = json_object();
    if (!obj || !query)
        return obj;
    if (add_params(obj, query, query + len, max_params)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
