/* floor_redis: the one Redis connection. Set up blocking (before the listener
 * opens: a floor that listens is subscribed): connect, AUTH when the URL has
 * credentials, PSUBSCRIBE <prefix>#/#* (the channels of @socket.io/redis-emitter
 * and redis-adapter broadcasts to "/": prefix#/# for all, prefix#/#room# for a
 * room); then non-blocking in the epoll loop, replies parsed by hiredis's
 * redisReader (commands formatted by redisFormatCommandArgv). No reconnection:
 * losing Redis ends the process.
 *
 * A broadcast is the msgpack array [uid, packet, opts] with packet = {type: 2,
 * data: [...], nsp: "/"} and opts = {rooms: [...], except: [...], flags}. It is
 * walked once (every count bounded by the bytes left, so msgpack-c never
 * allocates for a count the message cannot hold), decoded by msgpack-c, its
 * data written as JSON behind "42" (once), and the frame delivered to the
 * rooms' members (floor_rooms.c). Anything else (another packet type, another
 * namespace, binary data, malformed) is counted as skipped. URL:
 * redis://[[user]:password@]host[:port][/db] (the db does not matter to pub/sub). */
#include "floor.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#define SETUP_TIMEOUT_S 5

static redisReader *reader;
static floor_buf *scratch; /* the packet text under construction, reused */

typedef struct redis_url {
    char host[256], port[8], user[128], pass[256];
} redis_url;

static int parse_url(const char *text, redis_url *u, char *err, size_t errlen)
{
    *u = (redis_url){.port = "6379"};
    if (strncmp(text, "redis://", 8) != 0) {
        snprintf(err, errlen, "--redis must be redis://HOST:PORT");
        return -1;
    }
    const char *p = text + 8, *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (size_t)(colon - p) >= sizeof(u->user) || (size_t)(at - colon) > sizeof(u->pass)) {
            snprintf(err, errlen, "--redis: credentials must be [user]:password@");
            return -1;
        }
        memcpy(u->user, p, (size_t)(colon - p));
        memcpy(u->pass, colon + 1, (size_t)(at - colon - 1));
        p = at + 1;
    }
    const char *hs = p, *he;
    if (*p == '[') { /* [ipv6] */
        hs = p + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        p = he ? he + 1 : end;
    } else {
        he = memchr(p, ':', (size_t)(end - p));
        he = he ? he : end;
        p = he;
    }
    if (!he || he == hs || (size_t)(he - hs) >= sizeof(u->host) || (p < end && *p != ':') ||
        (p < end && (size_t)(end - p - 1) >= sizeof(u->port))) {
        snprintf(err, errlen, "--redis: bad host or port in '%s'", text);
        return -1;
    }
    memcpy(u->host, hs, (size_t)(he - hs));
    if (p < end)
        snprintf(u->port, sizeof(u->port), "%.*s", (int)(end - p - 1), p + 1);
    return 0;
}

static int dial(const redis_url *u, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int rc = getaddrinfo(u->host, u->port, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "Redis %s:%s: %s", u->host, u->port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {SETUP_TIMEOUT_S, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
        snprintf(err, errlen, "cannot connect to Redis at %s:%s: %s", u->host, u->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Sends one command and waits for its reply (blocking, bounded by the socket timeouts). */
static redisReply *call(int fd, int argc, const char **argv, char *err, size_t errlen)
{
    size_t lens[3];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    ssize_t w = len > 0 ? write(fd, cmd, (size_t)len) : -1;
    free(cmd);
    void *reply = NULL;
    while (w == len && redisReaderGetReply(reader, &reply) == REDIS_OK && !reply) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0 || redisReaderFeed(reader, buf, (size_t)n) != REDIS_OK)
            break;
    }
    if (!reply)
        snprintf(err, errlen, "Redis %s: %s", argv[0], w != len ? "cannot send" : "no reply");
    return reply;
}

/* Calls and checks: an error reply, or for PSUBSCRIBE anything but its confirmation, fails. */
static int call_ok(int fd, int argc, const char **argv, char *err, size_t errlen)
{
    redisReply *r = call(fd, argc, argv, err, errlen);
    if (!r)
        return -1;
    int ok = r->type != REDIS_REPLY_ERROR;
    if (ok && argv[0][0] == 'P')
        ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "psubscribe") == 0;
    if (!ok)
        snprintf(err, errlen, "Redis %s: %.120s", argv[0], r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int redis_open(const char *url, const char *prefix, char *err, size_t errlen)
{
    redis_url u;
    char pattern[512];
    if (parse_url(url, &u, err, errlen))
        return -2;
    if ((size_t)snprintf(pattern, sizeof(pattern), "%s#/#*", prefix) >= sizeof(pattern)) {
        snprintf(err, errlen, "--prefix too long");
        return -2;
    }
    reader = redisReaderCreate();
    int fd = reader ? dial(&u, err, errlen) : -1;
    if (fd < 0)
        return -1;
    const char *auth[] = {"AUTH", u.user[0] ? u.user : u.pass, u.pass};
    const char *sub[] = {"PSUBSCRIBE", pattern};
    if ((u.pass[0] && call_ok(fd, u.user[0] ? 3 : 2, auth, err, errlen)) || call_ok(fd, 2, sub, err, errlen) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the broadcast --------------------------------------------------------- */

/* Per header byte 0xc0..0xdf: fixed size, or the bytes of a length field and what it counts. */
enum { LEN_BYTES = 1, LEN_EXT, LEN_ITEMS, LEN_PAIRS };
static const struct { uint8_t fixed, len_bytes, kind; } HEADS[32] = {
    {1, 0, 0}, {0, 0, 0}, {1, 0, 0}, {1, 0, 0},                      /* nil, (never), false, true */
    {0, 1, LEN_BYTES}, {0, 2, LEN_BYTES}, {0, 4, LEN_BYTES},         /* bin 8/16/32 */
    {0, 1, LEN_EXT}, {0, 2, LEN_EXT}, {0, 4, LEN_EXT},               /* ext 8/16/32 */
    {5, 0, 0}, {9, 0, 0},                                            /* float 32/64 */
    {2, 0, 0}, {3, 0, 0}, {5, 0, 0}, {9, 0, 0},                      /* uint 8..64 */
    {2, 0, 0}, {3, 0, 0}, {5, 0, 0}, {9, 0, 0},                      /* int 8..64 */
    {3, 0, 0}, {4, 0, 0}, {6, 0, 0}, {10, 0, 0}, {18, 0, 0},         /* fixext 1..16 */
    {0, 1, LEN_BYTES}, {0, 2, LEN_BYTES}, {0, 4, LEN_BYTES},         /* str 8/16/32 */
    {0, 2, LEN_ITEMS}, {0, 4, LEN_ITEMS}, {0, 2, LEN_PAIRS}, {0, 4, LEN_PAIRS}, /* array, map */
};

/* The value header at p: the bytes to skip to the next header, the values it contains. */
static int mp_head(const uint8_t *p, size_t n, uint64_t *skip, uint64_t *kids)
{
    uint8_t b = p[0];
    *skip = 1;
    *kids = b >= 0x80 && b <= 0x8f ? 2u * (b & 15) : b >= 0x90 && b <= 0x9f ? (b & 15) : 0;
    if (b < 0xa0 || b >= 0xe0)
        return 0;
    if (b < 0xc0) {
        *skip = 1u + (b & 31);
        return 0;
    }
    if (HEADS[b - 0xc0].fixed) {
        *skip = HEADS[b - 0xc0].fixed;
        return 0;
    }
    unsigned lb = HEADS[b - 0xc0].len_bytes, kind = HEADS[b - 0xc0].kind;
    if (!lb || n < 1 + lb)
        return -1;
    uint64_t len = 0;
    for (unsigned i = 1; i <= lb; i++)
        len = len << 8 | p[i];
    *skip = 1 + lb + (kind == LEN_EXT) + (kind <= LEN_EXT ? len : 0);
    *kids = kind == LEN_ITEMS ? len : kind == LEN_PAIRS ? 2 * len : 0;
    return 0;
}

/* One whole value, nothing after it, no count beyond what the bytes can hold. */
static int mp_check(const uint8_t *p, size_t n)
{
    uint64_t want = 1, skip, kids;
    size_t i = 0;
    while (want) {
        if (i >= n || mp_head(p + i, n - i, &skip, &kids) || skip > n - i)
            return -1;
        i += skip;
        want = want - 1 + kids;
        if (want > n - i) /* every value takes a byte at least */
            return -1;
    }
    return i == n ? 0 : -1;
}

static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    size_t kl = strlen(key);
    for (uint32_t i = 0; map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && memcmp(k->via.str.ptr, key, kl) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* An absent or nil list is empty; otherwise an array of strings. */
static int str_list(const msgpack_object *o, const msgpack_object_array **out)
{
    static const msgpack_object_array empty = {0, NULL};
    *out = &empty;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    for (uint32_t i = 0; i < o->via.array.size; i++)
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return -1;
    *out = &o->via.array;
    return 0;
}

static int broadcast(const msgpack_object *root)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 3)
        return -1;
    const msgpack_object *pkt = &root->via.array.ptr[1], *opts = &root->via.array.ptr[2];
    const msgpack_object *type = field(pkt, "type"), *data = field(pkt, "data"), *nsp = field(pkt, "nsp");
    const msgpack_object_array *rooms, *except;
    if (!type || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER || type->via.u64 != 2 || !data ||
        data->type != MSGPACK_OBJECT_ARRAY || str_list(field(opts, "rooms"), &rooms) ||
        str_list(field(opts, "except"), &except))
        return -1;
    if (nsp && (nsp->type != MSGPACK_OBJECT_STR || nsp->via.str.size != 1 || nsp->via.str.ptr[0] != '/'))
        return -1;
    if (scratch)
        scratch->len = 0;
    if (buf_put(&scratch, "42", 2, 2) || json_from_msgpack(&scratch, data))
        return -1;
    floor_frame *f = frame_new(scratch->data, scratch->len);
    if (!f)
        return -1;
    rooms_begin();
    for (uint32_t i = 0; i < except->size; i++)
        rooms_except(except->ptr[i].via.str.ptr, except->ptr[i].via.str.size);
    for (uint32_t i = 0; i < rooms->size; i++)
        rooms_deliver(rooms->ptr[i].via.str.ptr, rooms->ptr[i].via.str.size, f);
    if (!rooms->size)
        rooms_deliver(NULL, 0, f);
    frame_unref(f);
    return 0;
}

static void on_message(const char *p, size_t n)
{
    msgpack_unpacked u;
    size_t off = 0;
    if (mp_check((const uint8_t *)p, n)) {
        F.n_skipped++;
        return;
    }
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, p, n, &off) != MSGPACK_UNPACK_SUCCESS || broadcast(&u.data))
        F.n_skipped++;
    msgpack_unpacked_destroy(&u);
}

/* ["pmessage", pattern, channel, payload]; other pushes are not ours. */
static void on_reply(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 && r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "pmessage") == 0 && r->element[3]->type == REDIS_REPLY_STRING)
        on_message(r->element[3]->str, r->element[3]->len);
}

int redis_on_readable(int fd, char *err, size_t errlen)
{
    static char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        snprintf(err, errlen, "lost the Redis connection: %s", n ? strerror(errno) : "closed by Redis");
        return -1;
    }
    if (redisReaderFeed(reader, buf, (size_t)n) != REDIS_OK) {
        snprintf(err, errlen, "cannot parse what Redis sent");
        return -1;
    }
    void *reply;
    int rc;
    while ((rc = redisReaderGetReply(reader, &reply)) == REDIS_OK && reply) {
        on_reply(reply);
        freeReplyObject(reply);
    }
    if (rc != REDIS_OK) {
        snprintf(err, errlen, "cannot parse what Redis sent");
        return -1;
    }
    return 0;
}
