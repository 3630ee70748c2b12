/* bench_scan: the receive hot path's parser. A bench delivery is
 * 42["bench",{"t":<us>,"room":"room-7","seq":12}] (Socket.IO) or
 * {"event":"bench","data":{"t":<us>,"room":"room-7","seq":12}} (a plain
 * WebSocket client); instead of building a JSON tree per message, this scans
 * for the three keys it needs (in any order) and reads their values in place.
 * Also a small string-field finder for the rare control payloads (sid, error
 * messages). */
#include "bench_worker.h"

#include <string.h>

static const char BENCH_PREFIX[] = "[\"bench\",";
static const char PLAIN_PREFIX[] = "{\"event\":\"bench\",\"data\":";

/* Reads a non-negative decimal integer at *q; advances *q. -1 when none. */
static int read_uint(const uint8_t **q, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *q;
    uint64_t v = 0;
    while (p < end && *p == ' ')
        p++;
    const uint8_t *start = p;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 19)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == start)
        return -1;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
                       *p == '+' || *p == '-'))
        p++; /* a fraction or exponent: the integer part is enough */
    *q = p;
    *out = v;
    return 0;
}

static const uint8_t *skip_spaces(const uint8_t *q, const uint8_t *end)
{
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
        q++;
    return q;
}

/* The keys t, seq and room from q on, wherever they are. 1, or -1 when one is missing. */
static int scan_fields(const uint8_t *q, const uint8_t *end, bench_event *ev)
{
    int have = 0; /* bits: 1 t, 2 seq, 4 room */
    while (have != 7) {
        q = memchr(q, '"', (size_t)(end - q));
        if (!q)
            return -1;
        const uint8_t *key = ++q;
        q = memchr(q, '"', (size_t)(end - q));
        if (!q)
            return -1;
        size_t klen = (size_t)(q - key);
        q = skip_spaces(q + 1, end);
        if (q >= end || *q != ':')
            return -1;
        q = skip_spaces(q + 1, end);
        uint64_t v;
        if (klen == 1 && key[0] == 't') {
            if (read_uint(&q, end, &v))
                return -1;
            ev->t = v;
            have |= 1;
        } else if (klen == 3 && memcmp(key, "seq", 3) == 0) {
            if (read_uint(&q, end, &v) || v > UINT32_MAX)
                return -1;
            ev->seq = (uint32_t)v;
            have |= 2;
        } else if (klen == 4 && memcmp(key, "room", 4) == 0) {
            if (q >= end || *q != '"')
                return -1;
            const uint8_t *s = ++q;
            q = memchr(q, '"', (size_t)(end - q));
            if (!q)
                return -1;
            ev->room = (const char *)s;
            ev->room_len = (size_t)(q - s);
            q++;
            have |= 4;
        } else if (q < end && *q == '"') { /* another key with a string value: skip it */
            q = memchr(q + 1, '"', (size_t)(end - q - 1));
            if (!q)
                return -1;
            q++;
        }
    }
    return 1;
}

int scan_bench_event(const uint8_t *p, size_t n, bench_event *ev)
{
    const size_t pl = sizeof(BENCH_PREFIX) - 1;
    if (n < pl || memcmp(p, BENCH_PREFIX, pl) != 0)
        return 0;
    return scan_fields(p + pl, p + n, ev);
}

/* Whether the object has "event":"bench" (any spacing, any place): the slow path. */
static int plain_is_bench(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    for (const uint8_t *q = p; (q = memmem(q, (size_t)(end - q), "\"event\"", 7)); q += 7) {
        const uint8_t *v = skip_spaces(q + 7, end);
        if (v >= end || *v != ':')
            continue;
        v = skip_spaces(v + 1, end);
        return end - v >= 7 && memcmp(v, "\"bench\"", 7) == 0;
    }
    return 0;
}

int scan_plain_event(const uint8_t *p, size_t n, bench_event *ev)
{
    const size_t pl = sizeof(PLAIN_PREFIX) - 1;
    if (n >= pl && memcmp(p, PLAIN_PREFIX, pl) == 0) /* what sio-server writes */
        return scan_fields(p + pl, p + n, ev);
    if (n < 2 || p[0] != '{' || !plain_is_bench(p, n))
        return 0;
    return scan_fields(p + 1, p + n, ev);
}

int scan_string_field(const uint8_t *p, size_t n, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    const uint8_t *end = p + n;
    for (const uint8_t *q = p; q + kl + 3 < end; q++) {
        if (*q != '"' || memcmp(q + 1, key, kl) != 0 || q[kl + 1] != '"' || q[kl + 2] != ':')
            continue;
        const uint8_t *s = q + kl + 3;
        while (s < end && *s == ' ')
            s++;
        if (s >= end || *s != '"')
            return -1;
        s++;
        size_t len = 0;
        while (s + len < end && s[len] != '"') {
            if (s[len] == '\\' && s + len + 1 < end)
                len++;
            len++;
        }
        if (s + len >= end || len + 1 > outlen)
            return -1;
        memcpy(out, s, len);
        out[len] = '\0';
        return 0;
    }
    return -1;
}
