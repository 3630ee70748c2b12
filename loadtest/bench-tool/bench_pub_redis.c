/* bench_pub_redis: the Redis backend of the publisher, speaking as
 * @socket.io/redis-emitter: PUBLISH on `prefix#nsp#room#` the msgpack array
 * ["emitter", {type:2, data:["bench",{t,room,seq}], nsp}, {rooms:[room],
 * except:[], flags:{}}], encoded by protocol/adapter_msg.c. Commands are
 * formatted by hiredis (redisFormatCommandArgv) and pipelined over a plain
 * libevent bufferevent; replies are parsed by hiredis's redisReader and
 * matched in order. URL: redis://[[user]:password@]host[:port][/db]
 * (no percent-decoding). */
#include "bench_publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "adapter_msg.h"

#define MAX_PIPELINE 4096
#define CONTROL UINT32_MAX /* a pending AUTH or SELECT */

typedef struct pub_redis {
    bench_publisher *p;
    const bench_config *cfg;
    struct bufferevent *bev;
    redisReader *reader;
    char url[512];           /* without the credentials */
    int connected;
    char fatal[BENCH_ERR_LEN];
    uint32_t pending[MAX_PIPELINE + 4]; /* a ring of rooms awaiting a reply */
    size_t head, count;
    uint64_t zero_receivers;
    bytebuf enc;
} pub_redis;

static void push(pub_redis *r, uint32_t room)
{
    r->pending[(r->head + r->count++) % (MAX_PIPELINE + 4)] = room;
}

static uint32_t pop(pub_redis *r)
{
    uint32_t room = r->pending[r->head];
    r->head = (r->head + 1) % (MAX_PIPELINE + 4);
    r->count--;
    return room;
}

static int command(pub_redis *r, int argc, const char **argv, const size_t *lens, uint32_t room)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0 || !cmd)
        return -1;
    int rc = bufferevent_write(r->bev, cmd, (size_t)len);
    free(cmd);
    if (rc)
        return -1;
    push(r, room);
    return 0;
}

static void set_fatal(pub_redis *r, const char *msg)
{
    if (!r->fatal[0])
        snprintf(r->fatal, sizeof(r->fatal), "%s", msg);
    while (r->count) {
        uint32_t room = pop(r);
        if (room != CONTROL)
            publisher_done_one(r->p, room, 0, NULL);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    pub_redis *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    if (redisReaderFeed(r->reader, (const char *)evbuffer_pullup(in, -1), len) != REDIS_OK) {
        set_fatal(r, "Redis: cannot parse a reply");
        return;
    }
    evbuffer_drain(in, len);
    void *reply;
    char msg[BENCH_ERR_LEN];
    while (redisReaderGetReply(r->reader, &reply) == REDIS_OK && reply) {
        redisReply *rep = reply;
        if (!r->count) {
            freeReplyObject(reply);
            set_fatal(r, "Redis: a reply to no command");
            return;
        }
        uint32_t room = pop(r);
        if (rep->type == REDIS_REPLY_ERROR) {
            snprintf(msg, sizeof(msg), "Redis %s: %.*s", room == CONTROL ? "AUTH/SELECT" : "PUBLISH",
                     (int)(rep->len > 100 ? 100 : rep->len), rep->str);
            if (room == CONTROL)
                set_fatal(r, msg);
            else
                publisher_done_one(r->p, room, 0, msg);
        } else if (room != CONTROL) {
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
                publisher_done_one(r->p, room, 1, "Redis PUBLISH reached no subscriber "
                                                  "(is the server on this Redis and --prefix?)");
            else
                publisher_done_one(r->p, room, 1, NULL);
        }
        freeReplyObject(reply);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    pub_redis *r = arg;
    char msg[BENCH_ERR_LEN];
    if (what & BEV_EVENT_CONNECTED) {
        r->connected = 1;
        return;
    }
    snprintf(msg, sizeof(msg), "Redis %.80s: %s", r->url,
             (what & BEV_EVENT_EOF) ? "connection closed"
                                    : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    set_fatal(r, msg);
}

static int redis_ready(void *ctx)
{
    pub_redis *r = ctx;
    return r->connected && !r->fatal[0] && r->count < MAX_PIPELINE;
}

static int redis_send(void *ctx, uint32_t room, uint32_t seq, uint64_t t_us)
{
    pub_redis *r = ctx;
    const bench_config *cfg = r->cfg;
    char name[320], channel[800];
    if (bench_room_name(cfg, room, name, sizeof(name)) < 0)
        return -1;
    json_t *data = json_pack("[s{sIsssI}]", "bench", "t", (json_int_t)t_us, "room", name, "seq",
                             (json_int_t)seq);
    if (data && cfg->size) { /* --size: the length of {"t":..,"room":"..","seq":..} decides the pad */
        size_t unpadded = (size_t)snprintf(NULL, 0, "{\"t\":%llu,\"room\":\"%s\",\"seq\":%u}",
                                           (unsigned long long)t_us, name, seq);
        size_t pad = publisher_pad_len(cfg, unpadded);
        const char *x = pad ? publisher_pad_chars(pad) : NULL;
        if (pad && (!x || json_object_set_new(json_array_get(data, 1), "pad", json_stringn(x, pad)))) {
            json_decref(data);
            return -1;
        }
    }
    char *room_name = name;
    adapter_broadcast b = {
        .uid = "emitter",
        .packet = {.type = 2, .nsp = SIO_UNCONST(char *, cfg->nsp), .id = -1, .data = data},
        .rooms = &room_name,
        .n_rooms = 1,
        .flags = {.compress = -1, .timeout_ms = -1},
    };
    r->enc.len = 0;
    int rc = data ? adapter_broadcast_encode(&b, &r->enc) : -1;
    json_decref(data);
    int clen = snprintf(channel, sizeof(channel), "%s#%s#%s#", cfg->redis_prefix, cfg->nsp, name);
    if (rc < 0 || clen < 0 || (size_t)clen >= sizeof(channel))
        return -1;
    const char *argv[] = {"PUBLISH", channel, (const char *)r->enc.data};
    size_t lens[] = {7, (size_t)clen, r->enc.len};
    return command(r, 3, argv, lens, room);
}

static size_t redis_in_flight(void *ctx)
{
    return ((pub_redis *)ctx)->count;
}

static const char *redis_fatal(void *ctx)
{
    pub_redis *r = ctx;
    return r->fatal[0] ? r->fatal : NULL;
}

static void redis_free(void *ctx)
{
    pub_redis *r = ctx;
    if (r->bev)
        bufferevent_free(r->bev);
    if (r->reader)
        redisReaderFree(r->reader);
    bytebuf_free(&r->enc);
    free(r);
}

/* Splits redis://[[user]:pass@]host[:port][/db] into its parts. */
static int parse_url(const char *text, bench_url *u, char *user, char *pass, size_t credlen,
                     char *db, size_t dblen, char *err, size_t errlen)
{
    const char *p = text + 8, *at = strchr(p, '@'), *slash = strchr(p, '/');
    user[0] = pass[0] = db[0] = '\0';
    if (at && (!slash || at < slash)) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || (size_t)(at - p) >= credlen) {
            snprintf(err, errlen, "--redis: credentials must be [user]:password@");
            return -1;
        }
        snprintf(user, credlen, "%.*s", (int)(colon - p), p);
        snprintf(pass, credlen, "%.*s", (int)(at - colon - 1), colon + 1);
        p = at + 1;
    }
    char hp[400];
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= 300) {
        snprintf(err, errlen, "--redis: no host in the URL");
        return -1;
    }
    snprintf(hp, sizeof(hp), "http://%.*s", (int)hl, p);
    const char *last_colon = strrchr(hp + 7, ':'), *last_bracket = strrchr(hp + 7, ']');
    int has_port = last_colon && (!last_bracket || last_colon > last_bracket) &&
                   (hp[7] == '[' || strchr(hp + 7, ':') == last_colon);
    if (!has_port)
        strcat(hp, ":6379");
    if (slash && slash[1])
        snprintf(db, dblen, "%s", slash + 1);
    char why[300];
    if (bench_url_parse(hp, u, why, sizeof(why)) || bench_url_resolve(u, why, sizeof(why))) {
        snprintf(err, errlen, "--redis: %s", why);
        return -1;
    }
    return 0;
}

int pub_redis_new(bench_publisher *p, struct event_base *base, const bench_config *cfg,
                  pub_backend *out, char *err, size_t errlen)
{
    bench_url u;
    char user[256], pass[256], db[32];
    if (parse_url(cfg->redis_url, &u, user, pass, sizeof(user), db, sizeof(db), err, errlen))
        return -1;
    pub_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->p = p;
    r->cfg = cfg;
    snprintf(r->url, sizeof(r->url), "redis://%s", u.hostport);
    r->reader = redisReaderCreate();
    r->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!r->reader || !r->bev) {
        redis_free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    if (pass[0] || user[0]) { /* queued: written once connected */
        const char *argv[] = {"AUTH", user, pass};
        size_t lens[] = {4, strlen(user), strlen(pass)};
        if (user[0])
            command(r, 3, argv, lens, CONTROL);
        else
            command(r, 2, (const char *[]){"AUTH", pass}, (size_t[]){4, strlen(pass)}, CONTROL);
    }
    if (db[0] && strcmp(db, "0") != 0)
        command(r, 2, (const char *[]){"SELECT", db}, (size_t[]){6, strlen(db)}, CONTROL);
    if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&u.addr, (int)u.addrlen)) {
        snprintf(err, errlen, "cannot connect to Redis at %s", r->url);
        redis_free(r);
        return -1;
    }
    *out = (pub_backend){r, redis_ready, redis_send, redis_in_flight, redis_fatal, redis_free};
    return 0;
}
