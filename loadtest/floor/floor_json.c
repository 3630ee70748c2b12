/* floor_json: the JSON text of a decoded msgpack value, as JSON.stringify
 * would write the JavaScript value notepack.io decodes it to: nil -> null,
 * booleans, integers, floats (integral ones below 1e21 without a fraction,
 * others in the shortest %g form that reads back the same, exponent without
 * leading zeros; NaN and infinities -> null), strings with JSON escapes (bytes >= 0x20 copied as
 * they are: no UTF-8 check), arrays, maps with string keys. Binary, ext and
 * non-string keys are refused (-1): such a broadcast is not sent. The depth is
 * bounded by msgpack-c's unpacker (32 levels). */
#include "floor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#define JSON_MAX (16u << 20)

static int put(floor_buf **b, const void *p, size_t n)
{
    return buf_put(b, p, n, JSON_MAX);
}

static int put_string(floor_buf **b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (put(b, "\"", 1))
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        char esc[6] = {'\\', (char)ch, 0};
        size_t el = 2;
        switch (ch) {
        case '"': case '\\': break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[ch >> 4], esc[5] = hex[ch & 15];
            el = 6;
        }
        if (put(b, s + run, i - run) || put(b, esc, el))
            return -1;
        run = i + 1;
    }
    return put(b, s + run, n - run) || put(b, "\"", 1) ? -1 : 0;
}

static int put_double(floor_buf **b, double d)
{
    char num[40];
    int n;
    if (!isfinite(d))
        return put(b, "null", 4);
    if (d == 0) /* -0 too */
        return put(b, "0", 1);
    if (d == floor(d) && fabs(d) < 1e21) {
        n = snprintf(num, sizeof(num), "%.0f", d);
    } else {
        for (int prec = 15;; prec++) {
            n = snprintf(num, sizeof(num), "%.*g", prec, d);
            if (prec == 17 || strtod(num, NULL) == d)
                break;
        }
        char *e = strchr(num, 'e'); /* JavaScript writes 1e-7, C 1e-07 */
        if (e && e[2] == '0') {
            memmove(e + 2, e + 3, (size_t)(num + n - (e + 2)));
            n--;
        }
    }
    return put(b, num, (size_t)n);
}

static int put_int(floor_buf **b, const msgpack_object *o)
{
    char num[24];
    int n = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                ? snprintf(num, sizeof(num), "%" PRIu64, o->via.u64)
                : snprintf(num, sizeof(num), "%" PRId64, o->via.i64);
    return put(b, num, (size_t)n);
}

static int put_array(floor_buf **b, const msgpack_object_array *a)
{
    if (put(b, "[", 1))
        return -1;
    for (uint32_t i = 0; i < a->size; i++)
        if ((i && put(b, ",", 1)) || json_from_msgpack(b, &a->ptr[i]))
            return -1;
    return put(b, "]", 1);
}

static int put_map(floor_buf **b, const msgpack_object_map *m)
{
    if (put(b, "{", 1))
        return -1;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR || (i && put(b, ",", 1)) ||
            put_string(b, k->via.str.ptr, k->via.str.size) || put(b, ":", 1) ||
            json_from_msgpack(b, &m->ptr[i].val))
            return -1;
    }
    return put(b, "}", 1);
}

int json_from_msgpack(floor_buf **b, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return put(b, "null", 4);
    case MSGPACK_OBJECT_BOOLEAN: return o->via.boolean ? put(b, "true", 4) : put(b, "false", 5);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return put_int(b, o);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return put_double(b, o->via.f64);
    case MSGPACK_OBJECT_STR: return put_string(b, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY: return put_array(b, &o->via.array);
    case MSGPACK_OBJECT_MAP: return put_map(b, &o->via.map);
    default: return -1; /* binary, ext */
    }
}
