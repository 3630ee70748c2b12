#include "redis_sharded.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_adapter.h"
#include "log.h"

#define SOCKET_ID_LEN 20 /* Node's looksLikeASocketId */

/* After a shard was lost (a failover), what waited is published only this
 * long after every slot has a primary again: the other nodes poll the slot
 * map every 500 ms and subscribe on the new primary meanwhile; what reaches
 * a channel before its subscribers are back is lost (pub/sub keeps nothing). */
#define REOPEN_GRACE_MS 1000

struct redis_sharded {
    redis_adapter *a;
    redis_cluster *cl;
    sharded_mode mode;
    cluster_adapter messages;
    struct event *reopen;
    int was_down;
    redis_cluster_callbacks cb; /* what its router calls */
};

/* Whether a room has a channel of its own in this mode. */
static int own_channel(const redis_sharded *s, const char *room)
{
    return s->mode == SHARDED_DYNAMIC_PRIVATE ||
           (s->mode == SHARDED_DYNAMIC && strlen(room) != SOCKET_ID_LEN);
}

void redis_sharded_room(redis_sharded *s, nsp_state *ns, const char *room, int on)
{
    if (!own_channel(s, room))
        return;
    char *channel = redis_adapter_room_channel(ns, room);
    if (channel && on)
        redis_cluster_ssubscribe(s->cl, channel);
    else if (channel)
        redis_cluster_sunsubscribe(s->cl, channel);
    free(channel);
}

void redis_sharded_namespace(redis_sharded *s, nsp_state *ns, int on)
{
    char *own = cluster_adapter_channel(s->a, ns->name, s->a->uid);
    if (on) {
        redis_cluster_ssubscribe(s->cl, ns->channel);
        if (own)
            redis_cluster_ssubscribe(s->cl, own);
    } else {
        redis_cluster_sunsubscribe(s->cl, ns->channel);
        if (own)
            redis_cluster_sunsubscribe(s->cl, own);
    }
    free(own);
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&ns->rooms, &it, &k, &klen, &v))
        redis_sharded_room(s, ns, k, on);
}

int redis_sharded_publish(redis_sharded *s, nsp_state *ns, const adapter_broadcast *b)
{
    bytebuf out = BYTEBUF_INIT;
    if (adapter_cluster_message_broadcast_encode(s->a->uid, ns->name, b, &out)) {
        bytebuf_free(&out);
        return -EINVAL;
    }
    char *room = b->n_rooms == 1 && own_channel(s, b->rooms[0]) ? redis_adapter_room_channel(ns, b->rooms[0]) : NULL;
    const char *channel = room ? room : ns->channel;
    const char *argv[3] = {"SPUBLISH", channel, (const char *)out.data};
    size_t lens[3] = {8, strlen(channel), out.len};
    int rc = redis_outbox_push(s->a->outbox, 3, argv, lens);
    free(room);
    bytebuf_free(&out);
    return rc;
}

/* Answers go at once (not kept while a shard is away: the requester times out). */
static void publish_now(void *ctx, const char *channel, const uint8_t *payload, size_t len)
{
    redis_sharded *s = ctx;
    const char *argv[3] = {"SPUBLISH", channel, (const char *)payload};
    size_t lens[3] = {8, strlen(channel), len};
    redis_cluster_command(s->cl, NULL, NULL, 3, argv, lens);
}

void redis_sharded_reply(redis_sharded *s, const reply_msg *m)
{
    cluster_adapter_reply(&s->messages, m);
}

/* prefix#nsp#[room#|uid#]: the namespace whose channel it starts with. */
static void on_message(const char *channel, size_t channel_len, const char *payload, size_t len,
                       void *ctx)
{
    redis_sharded *s = ctx;
    redis_adapter *a = s->a;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&a->nsps, &it, &k, &klen, &v)) {
        nsp_state *ns = v;
        if (channel_len >= ns->channel_len && memcmp(channel, ns->channel, ns->channel_len) == 0) {
            int answer = channel_len == ns->channel_len + UID_LEN + 1 &&
                         memcmp(channel + ns->channel_len, a->uid, UID_LEN) == 0;
            if (!answer)
                cluster_adapter_on_message(&s->messages, ns, (const uint8_t *)payload, len);
            return; /* else: a response to a request this node never makes */
        }
    }
    a->stats.ignored++;
}

static void on_reopen(evutil_socket_t fd, short what, void *arg)
{
    redis_sharded *s = arg;
    if (redis_cluster_is_up(s->cl))
        redis_outbox_set_open(s->a->outbox, 1);
}

static void on_up(void *ctx)
{
    redis_sharded *s = ctx;
    if (evtimer_pending(s->reopen, NULL))
        return;
    if (!s->was_down) {
        redis_outbox_set_open(s->a->outbox, 1);
        return;
    }
    s->was_down = 0;
    struct timeval tv = {REOPEN_GRACE_MS / 1000, (REOPEN_GRACE_MS % 1000) * 1000};
    evtimer_add(s->reopen, &tv);
}

static void on_down(void *ctx)
{
    redis_sharded *s = ctx;
    s->was_down = 1;
    evtimer_del(s->reopen);
    redis_outbox_set_open(s->a->outbox, 0);
}

void redis_sharded_barrier(redis_sharded *s, void (*fn)(void *ud), void *ud)
{
    if (redis_cluster_barrier(s->cl, fn, ud))
        fn(ud);
}

int redis_sharded_is_up(const redis_sharded *s)
{
    return redis_cluster_is_up(s->cl);
}

redis_cluster *redis_sharded_cluster(const redis_sharded *s)
{
    return s->cl;
}

redis_sharded *redis_sharded_new(redis_adapter *a, sharded_mode mode)
{
    redis_sharded *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->a = a;
    s->mode = mode;
    s->cb = (redis_cluster_callbacks){on_message, on_up, on_down, NULL, s};
    cluster_adapter_init(&s->messages, a, publish_now, s);
    if (!(s->reopen = evtimer_new(a->base, on_reopen, s))) {
        redis_sharded_free(s);
        return NULL;
    }
    return s;
}

const redis_cluster_callbacks *redis_sharded_callbacks(const redis_sharded *s)
{
    return &s->cb;
}

void redis_sharded_attach(redis_sharded *s, redis_cluster *cl)
{
    s->cl = cl;
}

void redis_sharded_free(redis_sharded *s)
{
    if (!s)
        return;
    redis_cluster_free(s->cl);
    if (s->reopen)
        event_free(s->reopen);
    cluster_adapter_clear(&s->messages);
    free(s);
}
