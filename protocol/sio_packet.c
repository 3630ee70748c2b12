/* sio_packet: decodes and encodes the text form of Socket.IO v5 packets.
 *
 * The accept/reject decisions follow socket.io-parser 4.2.7 (Decoder.decodeString,
 * Decoder.isPayloadValid, reconstructPacket), restricted where the reference is
 * accidentally lenient (see the notes at each parse step). The JSON writer
 * reproduces JSON.stringify byte for byte (number formatting, escapes, key order),
 * writing straight into the output bytebuf. JSON parsing is jansson's. */
#include "sio_packet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest ack id accepted: Number.MAX_SAFE_INTEGER, the largest integer that a
 * JavaScript peer reads back exactly. */
#define SIO_MAX_ACK_ID ((int64_t)9007199254740991)

/* Recursion bound of the JSON writer and the placeholder walk; equals jansson's
 * parse depth limit, so anything sio_packet_decode() produced fits. */
#define SIO_JSON_MAX_DEPTH 2048

/* Largest array index per ECMAScript (2^32 - 2): such keys are listed first. */
#define JS_MAX_ARRAY_INDEX 4294967294u

static const sio_limits default_limits = {10, 256};

static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

/* ------------------------------------------------------------------ helpers */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_binary_type(sio_packet_type t)
{
    return t == SIO_BINARY_EVENT || t == SIO_BINARY_ACK;
}

static int is_reserved_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(reserved_events) / sizeof(reserved_events[0]); i++) {
        const char *r = reserved_events[i];
        if (strlen(r) == len && memcmp(r, name, len) == 0)
            return 1;
    }
    return 0;
}

int sio_is_reserved_event(const char *name)
{
    return name ? is_reserved_name(name, strlen(name)) : 0;
}

static char *dup_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* ------------------------------------------------------------------ decoding */

/* Cursor over the packet text; `pos` is the next unread byte. */
typedef struct cursor {
    const char *s;
    size_t len;
    size_t pos;
} cursor;

static int at(const cursor *c, char ch)
{
    return c->pos < c->len && c->s[c->pos] == ch;
}

/* The reference maps charAt(0) through Number(): "" and whitespace would read as
 * CONNECT. Only the digits 0..6 are accepted here. */
static sio_status parse_type(cursor *c, sio_packet_type *type)
{
    char t = c->s[c->pos];
    if (t < '0' || t > '6')
        return SIO_ERR_TYPE;
    *type = (sio_packet_type)(t - '0');
    c->pos++;
    return SIO_OK;
}

/* "<digits>-". The reference accepts any Number()-parsable text ("0x2", " 1",
 * "1e0"); here only decimal digits are. Like the reference, the count must be
 * >= 1 and <= the limit. */
static sio_status parse_attachments(cursor *c, uint32_t max, uint32_t *out)
{
    uint64_t n = 0;
    size_t start = c->pos;
    while (c->pos < c->len && is_digit(c->s[c->pos])) {
        if (n <= max)
            n = n * 10 + (uint64_t)(c->s[c->pos] - '0');
        c->pos++;
    }
    if (c->pos == start || !at(c, '-'))
        return SIO_ERR_ATTACHMENTS;
    if (n < 1 || n > max)
        return SIO_ERR_ATTACHMENTS;
    c->pos++; /* the '-' */
    *out = (uint32_t)n;
    return SIO_OK;
}

/* "/<anything but ','>" up to the first ',' (consumed) or the end of the text.
 * Rejected beyond: longer than `max_len`, or holding a NUL byte (it would
 * silently truncate the C string and name another namespace). */
static sio_status parse_nsp(cursor *c, size_t max_len, char **out)
{
    if (!at(c, '/')) {
        *out = dup_bytes("/", 1);
        return *out ? SIO_OK : SIO_ERR_NOMEM;
    }
    const char *start = c->s + c->pos;
    size_t rest = c->len - c->pos;
    const char *comma = memchr(start, ',', rest);
    size_t len = comma ? (size_t)(comma - start) : rest;
    if (len > max_len || memchr(start, '\0', len))
        return SIO_ERR_NSP;
    *out = dup_bytes(start, len);
    if (!*out)
        return SIO_ERR_NOMEM;
    c->pos += comma ? len + 1 : len;
    return SIO_OK;
}

/* Consecutive decimal digits (the reference also counts whitespace, which
 * Number() reads as 0; not here). Leading zeros are accepted as the reference
 * does. Values above SIO_MAX_ACK_ID are SIO_ERR_ID. */
static sio_status parse_id(cursor *c, int64_t *out)
{
    int64_t id = 0;
    size_t start = c->pos;
    while (c->pos < c->len && is_digit(c->s[c->pos])) {
        int64_t d = c->s[c->pos] - '0';
        if (id > (SIO_MAX_ACK_ID - d) / 10)
            return SIO_ERR_ID;
        id = id * 10 + d;
        c->pos++;
    }
    *out = c->pos > start ? id : -1;
    return SIO_OK;
}

/* JSON.parse accepts integers of any size (as doubles); jansson refuses those
 * beyond int64. On that overflow the text is parsed again with every number as
 * a real, which is what JavaScript sees. */
static sio_status parse_json(const char *s, size_t len, json_t **out)
{
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_error_t err;
    *out = json_loadb(s, len, flags, &err);
    if (!*out && json_error_code(&err) == json_error_numeric_overflow)
        *out = json_loadb(s, len, flags | JSON_DECODE_INT_AS_REAL, &err);
    if (*out)
        return SIO_OK;
    return json_error_code(&err) == json_error_out_of_memory ? SIO_ERR_NOMEM : SIO_ERR_JSON;
}

static int is_valid_event_array(const json_t *data)
{
    const json_t *name = json_array_get(data, 0);
    if (json_is_number(name))
        return 1;
    return json_is_string(name) &&
           !is_reserved_name(json_string_value(name), json_string_length(name));
}

/* Decoder.isPayloadValid of the reference. */
static int is_payload_valid(sio_packet_type type, const json_t *data)
{
    switch (type) {
    case SIO_CONNECT: return json_is_object(data);
    case SIO_DISCONNECT: return 0;
    case SIO_CONNECT_ERROR: return json_is_string(data) || json_is_object(data);
    case SIO_EVENT:
    case SIO_BINARY_EVENT: return json_is_array(data) && is_valid_event_array(data);
    case SIO_ACK:
    case SIO_BINARY_ACK: return json_is_array(data);
    }
    return 0;
}

/* The JSON tail. As in the reference, absent data is not validated: "2", "3",
 * "51-" decode with data NULL. */
static sio_status parse_data(cursor *c, sio_packet *p)
{
    if (c->pos >= c->len)
        return SIO_OK;
    sio_status st = parse_json(c->s + c->pos, c->len - c->pos, &p->data);
    if (st != SIO_OK)
        return st;
    if (!is_payload_valid(p->type, p->data))
        return SIO_ERR_PAYLOAD;
    if (is_binary_type(p->type) && sio_count_placeholders(p->data, p->attachments) < 0)
        return SIO_ERR_ATTACHMENTS;
    return SIO_OK;
}

static sio_status decode_parts(cursor *c, const sio_limits *lim, sio_packet *p)
{
    sio_status st = parse_type(c, &p->type);
    if (st == SIO_OK && is_binary_type(p->type))
        st = parse_attachments(c, lim->max_attachments, &p->attachments);
    if (st == SIO_OK)
        st = parse_nsp(c, lim->max_nsp_len, &p->nsp);
    if (st == SIO_OK)
        st = parse_id(c, &p->id);
    if (st == SIO_OK)
        st = parse_data(c, p);
    return st;
}

sio_status sio_packet_decode(const char *s, size_t len, const sio_limits *lim, sio_packet *out)
{
    *out = (sio_packet){SIO_CONNECT, NULL, -1, 0, NULL};
    if (!s || len == 0)
        return SIO_ERR_EMPTY;
    cursor c = {s, len, 0};
    sio_status st = decode_parts(&c, lim ? lim : &default_limits, out);
    if (st != SIO_OK)
        sio_packet_clear(out);
    return st;
}

void sio_packet_clear(sio_packet *p)
{
    free(p->nsp);
    json_decref(p->data);
    p->nsp = NULL;
    p->data = NULL;
    p->id = -1;
    p->attachments = 0;
}

/* ------------------------------------------------------------------ placeholders */

/* reconstructPacket accepts any number in range; only integral values name a
 * buffer, so non-integral ones are rejected here. */
static int is_valid_placeholder_num(const json_t *num, uint32_t n_attachments)
{
    if (json_is_integer(num)) {
        json_int_t v = json_integer_value(num);
        return v >= 0 && v < (json_int_t)n_attachments;
    }
    if (json_is_real(num)) {
        double v = json_real_value(num);
        return v >= 0 && v < (double)n_attachments && v == (double)(uint32_t)v;
    }
    return 0;
}

static int count_placeholders(const json_t *v, uint32_t n, int depth);

static int sum_placeholders(int total, const json_t *child, uint32_t n, int depth)
{
    int c = count_placeholders(child, n, depth);
    if (total < 0 || c < 0 || c > INT32_MAX - total)
        return -1;
    return total + c;
}

static int count_placeholders(const json_t *v, uint32_t n, int depth)
{
    if (depth > SIO_JSON_MAX_DEPTH)
        return -1;
    int total = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && total >= 0; i++)
            total = sum_placeholders(total, json_array_get(v, i), n, depth + 1);
    } else if (json_is_object(v)) {
        /* A placeholder object is a leaf: the reference replaces it whole. */
        if (json_is_true(json_object_get(v, "_placeholder")))
            return is_valid_placeholder_num(json_object_get(v, "num"), n) ? 1 : -1;
        const char *key;
        json_t *child;
        json_object_foreach(SIO_UNCONST(json_t *, v), key, child)
        {
            total = sum_placeholders(total, child, n, depth + 1);
            if (total < 0)
                break;
        }
    }
    return total;
}

int sio_count_placeholders(const json_t *v, uint32_t n_attachments)
{
    return count_placeholders(v, n_attachments, 0);
}

const char *sio_packet_event_name(const sio_packet *p)
{
    if (p->type != SIO_EVENT && p->type != SIO_BINARY_EVENT)
        return NULL;
    const json_t *name = json_array_get(p->data, 0);
    if (!json_is_string(name))
        return NULL;
    const char *s = json_string_value(name);
    /* A name holding NUL has no faithful C string form. */
    return strlen(s) == json_string_length(name) ? s : NULL;
}

/* ------------------------------------------------------------------ JSON writer */

static int append_value(bytebuf *out, const json_t *v, int depth);

/* QuoteJSONString: the short escapes, other controls as lowercase \u00xx,
 * everything else (UTF-8, '/', U+2028) verbatim. */
static int append_quoted(bytebuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (bytebuf_reserve(out, len + 2) || bytebuf_append_byte(out, '"'))
        return -1;
    size_t run = 0; /* start of the pending verbatim run */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 0xf];
            esc_len = 6;
        }
        if (bytebuf_append(out, s + run, i - run) || bytebuf_append(out, esc, esc_len))
            return -1;
        run = i + 1;
    }
    if (bytebuf_append(out, s + run, len - run))
        return -1;
    return bytebuf_append_byte(out, '"');
}

/* Shortest decimal digits that read back as x (> 0), as Number::toString picks
 * them: x = 0.<digits> * 10^exp10. Returns the digit count. */
static int shortest_digits(double x, char digits[18], int *exp10)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    int k = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (is_digit(*p) && k < 17)
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *exp10 = atoi(p + 1) + 1;
    return k;
}

/* Number::toString(10) of ECMAScript for a finite x > 0: plain digits up to
 * 10^21, a decimal point inside or after "0." down to 10^-6, else exponent form. */
static int append_positive_double(bytebuf *out, double x)
{
    char digits[18], text[48];
    int n;
    int k = shortest_digits(x, digits, &n);
    size_t len = 0;
    if (k <= n && n <= 21) {
        memcpy(text, digits, (size_t)k);
        memset(text + k, '0', (size_t)(n - k));
        len = (size_t)n;
    } else if (0 < n && n <= 21) {
        memcpy(text, digits, (size_t)n);
        text[n] = '.';
        memcpy(text + n + 1, digits + n, (size_t)(k - n));
        len = (size_t)k + 1;
    } else if (-6 < n && n <= 0) {
        memcpy(text, "0.", 2);
        memset(text + 2, '0', (size_t)-n);
        memcpy(text + 2 - n, digits, (size_t)k);
        len = (size_t)(2 - n + k);
    } else {
        int e = n - 1;
        int w = snprintf(text, sizeof(text), "%c%s%se%c%d", digits[0], k > 1 ? "." : "",
                         digits + 1, e >= 0 ? '+' : '-', abs(e));
        len = (size_t)w;
    }
    return bytebuf_append(out, text, len);
}

static int append_double(bytebuf *out, double x)
{
    if (!isfinite(x))
        return bytebuf_append_str(out, "null");
    if (x == 0) /* also -0, which JSON.stringify writes as 0 */
        return bytebuf_append_byte(out, '0');
    if (x < 0 && bytebuf_append_byte(out, '-'))
        return -1;
    return append_positive_double(out, x < 0 ? -x : x);
}

/* JSON numbers are doubles in JavaScript. Integers within 2^53 are exact
 * doubles and are written as such; larger ones are written as JSON.stringify
 * writes the double JSON.parse makes of them (9223372036854775807 becomes
 * 9223372036854776000), so that encoding is a fixed point. */
#define SIO_MAX_EXACT_INT ((json_int_t)1 << 53)

static int append_integer(bytebuf *out, json_int_t v)
{
    if (v > SIO_MAX_EXACT_INT || v < -SIO_MAX_EXACT_INT)
        return append_double(out, (double)v);
    char text[32];
    int len = snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, v);
    return bytebuf_append(out, text, (size_t)len);
}

static int append_array(bytebuf *out, const json_t *v, int depth)
{
    if (bytebuf_append_byte(out, '['))
        return -1;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (i > 0 && bytebuf_append_byte(out, ','))
            return -1;
        if (append_value(out, json_array_get(v, i), depth + 1))
            return -1;
    }
    return bytebuf_append_byte(out, ']');
}

/* A member whose key is an array index, listed before the others. */
typedef struct index_member {
    uint32_t index;
    void *iter;
} index_member;

/* An ECMAScript array index: canonical decimal of an integer in [0, 2^32 - 2]. */
static int key_array_index(const char *key, size_t len, uint32_t *index)
{
    if (len == 0 || len > 10 || (len > 1 && key[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(key[i]))
            return 0;
        v = v * 10 + (uint64_t)(key[i] - '0');
    }
    if (v > JS_MAX_ARRAY_INDEX)
        return 0;
    *index = (uint32_t)v;
    return 1;
}

static int compare_index_members(const void *a, const void *b)
{
    uint32_t x = ((const index_member *)a)->index, y = ((const index_member *)b)->index;
    return (x > y) - (x < y);
}

static int append_member(bytebuf *out, void *iter, int *first, int depth)
{
    if (!*first && bytebuf_append_byte(out, ','))
        return -1;
    *first = 0;
    if (append_quoted(out, json_object_iter_key(iter), json_object_iter_key_len(iter)) ||
        bytebuf_append_byte(out, ':'))
        return -1;
    return append_value(out, json_object_iter_value(iter), depth + 1);
}

/* Collects the array-index members of v, sorted; *out is NULL when there are none. */
static int collect_index_members(json_t *v, index_member **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    uint32_t index;
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        if (!key_array_index(json_object_iter_key(it), json_object_iter_key_len(it), &index))
            continue;
        if (!*out && !(*out = malloc(json_object_size(v) * sizeof(**out))))
            return -1;
        (*out)[(*count)++] = (index_member){index, it};
    }
    if (*count > 1)
        qsort(*out, *count, sizeof(**out), compare_index_members);
    return 0;
}

/* Members in JavaScript's own-key order: array-index keys ascending, then the
 * other keys in insertion order (which jansson keeps). */
static int append_object(bytebuf *out, const json_t *object, int depth)
{
    json_t *v = SIO_UNCONST(json_t *, object); /* jansson's iterators take non-const */
    index_member *indexed;
    size_t n_indexed;
    if (collect_index_members(v, &indexed, &n_indexed))
        return -1;
    int first = 1;
    uint32_t index;
    int rc = bytebuf_append_byte(out, '{');
    for (size_t i = 0; i < n_indexed && rc == 0; i++)
        rc = append_member(out, indexed[i].iter, &first, depth);
    for (void *it = json_object_iter(v); it && rc == 0; it = json_object_iter_next(v, it))
        if (!n_indexed ||
            !key_array_index(json_object_iter_key(it), json_object_iter_key_len(it), &index))
            rc = append_member(out, it, &first, depth);
    free(indexed);
    return rc ? -1 : bytebuf_append_byte(out, '}');
}

static int append_value(bytebuf *out, const json_t *v, int depth)
{
    if (!v || depth > SIO_JSON_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: return append_object(out, v, depth);
    case JSON_ARRAY: return append_array(out, v, depth);
    case JSON_STRING: return append_quoted(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return append_integer(out, json_integer_value(v));
    case JSON_REAL: return append_double(out, json_real_value(v));
    case JSON_TRUE: return bytebuf_append_str(out, "true");
    case JSON_FALSE: return bytebuf_append_str(out, "false");
    case JSON_NULL: return bytebuf_append_str(out, "null");
    }
    return -1;
}

int sio_json_append(bytebuf *out, const json_t *v)
{
    size_t mark = out->len;
    if (append_value(out, v, 0) == 0)
        return 0;
    out->len = mark;
    return -1;
}

/* ------------------------------------------------------------------ encoding */

/* encodeAsString of the reference. */
static int encode_parts(const sio_packet *p, bytebuf *out)
{
    if (bytebuf_append_byte(out, (uint8_t)('0' + p->type)))
        return -1;
    if (is_binary_type(p->type) &&
        (bytebuf_append_u64(out, p->attachments) || bytebuf_append_byte(out, '-')))
        return -1;
    if (p->nsp && p->nsp[0] && strcmp(p->nsp, "/") != 0 &&
        (bytebuf_append_str(out, p->nsp) || bytebuf_append_byte(out, ',')))
        return -1;
    if (p->id >= 0 && bytebuf_append_u64(out, (uint64_t)p->id))
        return -1;
    if (p->data && sio_json_append(out, p->data))
        return -1;
    return 0;
}

int sio_packet_encode(const sio_packet *p, bytebuf *out)
{
    if ((unsigned)p->type > SIO_BINARY_ACK)
        return -1;
    size_t mark = out->len;
    if (encode_parts(p, out) == 0)
        return 0;
    out->len = mark;
    return -1;
}

const char *sio_status_str(sio_status st)
{
    switch (st) {
    case SIO_OK: return "ok";
    case SIO_ERR_EMPTY: return "empty packet";
    case SIO_ERR_TYPE: return "unknown packet type";
    case SIO_ERR_ATTACHMENTS: return "illegal attachments";
    case SIO_ERR_NSP: return "invalid namespace";
    case SIO_ERR_ID: return "ack id out of range";
    case SIO_ERR_JSON: return "invalid JSON";
    case SIO_ERR_PAYLOAD: return "invalid payload";
    case SIO_ERR_NOMEM: return "out of memory";
    }
    return "?";
}
