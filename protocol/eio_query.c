/* eio_query: parses the Engine.IO query string. See eio_query.h. */
#include "eio_query.h"

#include <string.h>

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t eio_query_decode(const char *p, const char *end, char *out, size_t room)
{
    size_t n = 0;
    while (p < end) {
        char c = *p++;
        if (c == '+')
            c = ' ';
        else if (c == '%' && end - p >= 2 && hex(p[0]) >= 0 && hex(p[1]) >= 0) {
            c = (char)(hex(p[0]) << 4 | hex(p[1]));
            p += 2;
        }
        if (n == room)
            return room + 1;
        out[n++] = c;
    }
    return n;
}

static int sid_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static void take_sid(eio_query *q, const char *v, size_t n)
{
    q->sid_present = 1;
    if (n != EIO_QUERY_SID_LEN)
        return;
    for (size_t i = 0; i < n; i++)
        if (!sid_char(v[i]))
            return;
    memcpy(q->sid, v, n);
    q->sid[n] = '\0';
}

static int parse_version(const char *v, size_t n)
{
    if (n == 0 || n > 3)
        return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

static eio_query_transport parse_transport(const char *v, size_t n)
{
    if (n == 7 && memcmp(v, "polling", 7) == 0)
        return EIO_QT_POLLING;
    if (n == 9 && memcmp(v, "websocket", 9) == 0)
        return EIO_QT_WEBSOCKET;
    return EIO_QT_UNKNOWN;
}

/* One "name=value" pair; seen: bit 0 EIO, 1 transport, 2 sid. */
static void pair(eio_query *q, const char *p, const char *end, unsigned *seen)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *vend = end, *v = eq ? eq + 1 : end;
    char name[16], value[64];
    size_t nl = eio_query_decode(p, eq ? eq : end, name, sizeof(name));
    size_t vl = eio_query_decode(v, vend, value, sizeof(value));
    if (nl == 3 && memcmp(name, "b64", 3) == 0)
        q->b64 |= vl > 0;
    if (nl == 1 && name[0] == 'j')
        q->jsonp = 1;
    unsigned bit = nl == 3 && memcmp(name, "EIO", 3) == 0         ? 1
                   : nl == 9 && memcmp(name, "transport", 9) == 0 ? 2
                   : nl == 3 && memcmp(name, "sid", 3) == 0       ? 4
                                                                  : 0;
    if (!bit)
        return;
    if (*seen & bit) { /* Node reads an array here, which engine.io refuses */
        if (bit == 1)
            q->eio = -1;
        else if (bit == 2)
            q->transport = EIO_QT_UNKNOWN;
        else
            q->sid[0] = '\0';
        return;
    }
    *seen |= bit;
    if (bit == 1)
        q->eio = vl <= sizeof(value) ? parse_version(value, vl) : -1;
    else if (bit == 2)
        q->transport = vl <= sizeof(value) ? parse_transport(value, vl) : EIO_QT_UNKNOWN;
    else
        take_sid(q, value, vl <= sizeof(value) ? vl : 0);
}

void eio_query_parse(const char *s, size_t len, eio_query *q)
{
    memset(q, 0, sizeof(*q));
    q->eio = -1;
    unsigned seen = 0;
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p)
            pair(q, p, e, &seen);
        p = e + (amp ? 1 : 0);
    }
}
