/* floor_sio: the Engine.IO v4 / Socket.IO v5 packets of one socket, as far as
 * sio-bench needs them. Engine.IO: message (4), pong (3) and noop (6) taken,
 * a ping (2) answered with a pong, close (1) and the rest close the socket.
 * Socket.IO, namespace "/" only (an explicit "/," prefix is accepted):
 *   0[{auth}]                         -> 40{"sid":"<id>"} (auth not looked at)
 *   2<id>["subscribe",["r1","r2"...]] -> joins, 3<id>[{"ok":true,"rooms":[...]}]
 * Room names are JSON strings without escapes, 1..255 bytes, at most 64 per
 * socket. Every other packet closes the socket. Ids: 8 random characters per
 * process and a 72-bit counter, in base64url. */
#include "floor.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define IOV(s) ((struct iovec){(void *)(uintptr_t)(s), sizeof(s) - 1})

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char SUBSCRIBE[] = "[\"subscribe\",[";

void sio_new_id(char out[FLOOR_SID_LEN + 1])
{
    static char prefix[8];
    static uint64_t counter;
    if (!prefix[0]) {
        uint8_t r[8] = {0};
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
            memcpy(r, &seed, sizeof(r));
        }
        for (int i = 0; i < 8; i++)
            prefix[i] = B64[r[i] & 63];
    }
    memcpy(out, prefix, 8);
    uint64_t n = ++counter;
    for (int i = FLOOR_SID_LEN - 1; i >= 8; i--, n >>= 6)
        out[i] = B64[n & 63];
    out[FLOOR_SID_LEN] = '\0';
}

size_t sio_open_packet(char *out, size_t cap, const char *sid)
{
    static const char head[] = "0{\"sid\":\"";
    static const char tail[] = "\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
                               "\"maxPayload\":1000000}";
    size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (cap < hl + FLOOR_SID_LEN + tl)
        return 0;
    memcpy(out, head, hl);
    memcpy(out + hl, sid, FLOOR_SID_LEN);
    memcpy(out + hl + FLOOR_SID_LEN, tail, tl);
    return hl + FLOOR_SID_LEN + tl;
}

void sio_send(floor_conn *s, const struct iovec *parts, int n)
{
    if (s->kind == K_SESSION)
        poll_send(s->sess, parts, n);
    else
        ws_send_text(s, parts, n);
}

/* Skips an explicit "/," namespace; -1 for any other namespace. */
static int skip_nsp(const char *p, size_t n, size_t *off)
{
    *off = 0;
    if (n == 0 || p[0] != '/')
        return 0;
    const char *comma = memchr(p, ',', n);
    size_t len = comma ? (size_t)(comma - p) : n;
    if (len != 1)
        return -1;
    *off = comma ? len + 1 : n;
    return 0;
}

static int on_connect(floor_conn *s, const char *p, size_t n)
{
    size_t off;
    if (skip_nsp(p, n, &off) || (off < n && p[off] != '{'))
        return -1;
    if (s->flags & F_JOINED)
        return 0;
    if (rooms_join_all(s))
        return -1;
    char sid[FLOOR_SID_LEN + 1];
    sio_new_id(sid);
    struct iovec parts[] = {IOV("40{\"sid\":\""), {sid, FLOOR_SID_LEN}, IOV("\"}")};
    sio_send(s, parts, 3);
    return 0;
}

/* Joins the rooms of the list at p (after its '['); returns the offset of its ']' or -1. */
static ssize_t join_list(floor_conn *s, const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == ']')
        return 0;
    while (i < n && p[i] == '"') {
        size_t start = ++i;
        while (i < n && p[i] != '"' && p[i] != '\\' && (uint8_t)p[i] >= 0x20)
            i++;
        size_t len = i - start;
        if (i >= n || p[i] != '"' || len == 0 || len > FLOOR_ROOM_NAME_MAX ||
            rooms_join(s, p + start, len) < 0)
            return -1;
        if (++i < n && p[i] == ']')
            return (ssize_t)i;
        if (i >= n || p[i] != ',')
            return -1;
        i++;
    }
    return -1;
}

static int on_event(floor_conn *s, const char *p, size_t n)
{
    size_t off, sl = sizeof(SUBSCRIBE) - 1;
    if (!(s->flags & F_JOINED) || skip_nsp(p, n, &off))
        return -1;
    size_t id = off;
    while (off < n && off - id < 9 && p[off] >= '0' && p[off] <= '9')
        off++;
    size_t id_len = off - id;
    if (n - off < sl + 2 || memcmp(p + off, SUBSCRIBE, sl) != 0)
        return -1;
    const char *list = p + off + sl - 1; /* its '[' */
    ssize_t close = join_list(s, list + 1, (size_t)(p + n - list - 1));
    if (close < 0 || list + 1 + close + 2 != p + n || list[1 + close + 1] != ']')
        return -1;
    if (id_len) {
        struct iovec parts[] = {IOV("43"), {(void *)(uintptr_t)(p + id), id_len},
                                IOV("[{\"ok\":true,\"rooms\":"), {(void *)(uintptr_t)list, (size_t)close + 2},
                                IOV("}]")};
        sio_send(s, parts, 5);
    }
    return 0;
}

int sio_on_packet(floor_conn *s, const char *p, size_t n)
{
    switch (n ? p[0] : 0) {
    case '4':
        if (n >= 2 && p[1] == '0')
            return on_connect(s, p + 2, n - 2);
        if (n >= 2 && p[1] == '2')
            return on_event(s, p + 2, n - 2);
        return -1;
    case '2': { /* a ping from the client: pong with the same data */
        struct iovec parts[] = {IOV("3"), {(void *)(uintptr_t)(p + 1), n - 1}};
        sio_send(s, parts, 2);
        return 0;
    }
    case '3':
    case '6':
        return 0;
    default:
        return -1;
    }
}
