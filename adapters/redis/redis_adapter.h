/* redis_adapter: the cluster thread's side of a Socket.IO cluster over Redis,
 * wire-compatible with @socket.io/redis-adapter 8.x (classic pub/sub) and
 * @socket.io/redis-emitter 5.x.
 *
 * Two redis_conn: a subscriber and a publisher. Per namespace it subscribes to
 * `prefix#nsp#`, the request channel and both response channels, plus either
 * one channel per room with a local member (`prefix#nsp#room#`, the default:
 * a node receives only its rooms' traffic) or the pattern `prefix#nsp#*`.
 * Everything is re-subscribed after each reconnect. Broadcasts from Redis are
 * filtered as the Node adapter does (own uid, namespace, room), encoded once
 * into Socket.IO frames here and pushed to the edge; the edge's own broadcasts
 * and the API's are published. Bad messages are counted and skipped. */
#ifndef SIO_REDIS_ADAPTER_H
#define SIO_REDIS_ADAPTER_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "adapter_msg.h"
#include "cluster_msg.h"
#include "mailbox.h"
#include "redis_cluster.h"
#include "redis_conn.h"

typedef struct redis_adapter redis_adapter;

typedef struct redis_adapter_config {
    const char *url;
    const char *prefix;          /* "socket.io" */
    const char *ca_file;         /* NULL */
    const char *sni;             /* NULL */
    int pattern_mode;            /* 0: per-room subscriptions */
    uint32_t recovery_window_ms; /* 0: no history or sessions in Redis */
    size_t buffer_max_messages;  /* broadcasts kept while Redis is down (0: 10000) */
    size_t buffer_max_bytes;     /* their bytes (0: 16 MiB) */
    int streams;                 /* REDIS_ADAPTER=streams (redis_streams.h) */
    size_t stream_maxlen;        /* its stream's bound (0: 10000) */
    int sharded;                 /* REDIS_ADAPTER=sharded (redis_sharded.h) */
    int sharded_mode;            /* sharded_mode: 0 dynamic, 1 static, 2 dynamic-private */
    int cluster_mode;            /* REDIS_CLUSTER: a Redis Cluster (sharded only) */
    const char *cluster_seeds;   /* more seeds, "host:port,..." (NULL: none) */
} redis_adapter_config;

typedef struct redis_adapter_stats {
    uint64_t published;          /* broadcasts published */
    uint64_t publish_failed;     /* not published: Redis down */
    uint64_t received;           /* broadcasts received and delivered */
    uint64_t ignored;            /* own uid, other namespace, no local member */
    uint64_t invalid;            /* undecodable messages */
    uint64_t requests;           /* requests answered or applied */
    uint64_t restored;           /* recovery: sessions found and restored */
    uint64_t restore_misses;     /* recovery: restores that found nothing usable */
} redis_adapter_stats;

/* NULL with *err for an invalid URL. `to_edge` gets broadcasts and requests. */
redis_adapter *redis_adapter_new(struct event_base *base, const redis_adapter_config *cfg,
                                 mailbox *to_edge, const char **err);
void redis_adapter_free(redis_adapter *a);
/* A command of the application's (EVENT_STREAM's XADD): through the sharded
 * router (routed by its key) or the publisher (REDIS_ADAPTER=pubsub, streams;
 * on a cluster the key must live with `{prefix}`). 0 sent, -1 not now; fn gets
 * NULL when the connection is lost. */
/* serverSideEmits of other nodes ([event, ...args], borrowed) go to fn, which
 * returns 0 when it took it and calls done(ud, ack) once later (ack: an array,
 * borrowed, or NULL); -1: answered null at once. */
typedef int (*redis_adapter_sse_fn)(void *ctx, const char *nsp, json_t *data,
                                    void (*done)(void *ud, json_t *ack), void *ud);
void redis_adapter_on_server_side_emit(redis_adapter *a, redis_adapter_sse_fn fn, void *ctx);
int redis_adapter_command(redis_adapter *a, redis_reply_fn fn, void *ud, int argc,
                          const char **argv, const size_t *lens);
/* A message from the edge: MSG_NAMESPACE, MSG_ROOM, MSG_BROADCAST (published
 * as msgpack, from its data when it has some), MSG_REPLY (a response to
 * another node's request, encoded here). Borrowed. */
void redis_adapter_on_edge(redis_adapter *a, cluster_msg *m);
/* Publishes an API broadcast (packet data [event, ...args], JSON only): 0, or
 * -ENOBUFS when the buffer of broadcasts waiting for Redis is full. With
 * recovery the broadcast (when not volatile) comes back from Redis with its
 * offset, and is delivered here then: redis_adapter_echoes(). */
int redis_adapter_publish_json(redis_adapter *a, const char *nsp, const char *const *rooms,
                                size_t n_rooms, const char *const *except, size_t n_except,
                                int is_volatile, json_t *data);
int redis_adapter_is_up(const redis_adapter *a);
/* 1 when recoverable broadcasts are delivered here from Redis, not at once. */
int redis_adapter_echoes(const redis_adapter *a);
/* 1 when nothing written to Redis waits for its reply (or Redis is down):
 * what the edge handed over before a shutdown has reached Redis. */
int redis_adapter_settled(const redis_adapter *a);
/* Broadcasts waiting for Redis (the outbox). */
size_t redis_adapter_buffered(const redis_adapter *a);
const redis_adapter_stats *redis_adapter_get_stats(const redis_adapter *a);
uint64_t redis_adapter_reconnects(const redis_adapter *a);
/* ---- requests this node originates (the HTTP API's /v1/sockets, /v1/rooms) ----
 * Classic pub/sub only: REDIS_ADAPTER sharded and streams answer -ENOTSUP. */

/* 0 when this node can originate requests now, -ENOTSUP (sharded, streams)
 * or -EAGAIN (Redis down). */
int redis_adapter_originates(const redis_adapter *a);
/* socketsJoin / socketsLeave / disconnectSockets (r->type 2, 3, 4 with opts,
 * rooms, close; uid is set here): published on prefix-request#nsp# through the
 * outbox, as the Node adapter does; its echo applies it to this node's sockets
 * (on_request), so each socket is affected once. 0, -ENOBUFS (the outbox is
 * full), -ENOTSUP, -ENOMEM. */
int redis_adapter_publish_request(redis_adapter *a, const char *nsp, adapter_request *r);

typedef struct redis_query_hooks {
    /* how many other nodes will answer request `id` (PUBSUB NUMSUB of the request
     * channel minus this node; the request was published when > 0); -1: Redis failed */
    void (*counted)(void *ctx, const char *id, long others);
    /* a JSON answer on a response channel naming request `id` (any id: the
     * caller matches); borrowed; `bytes` its size on the wire */
    void (*answer)(void *ctx, const char *id, const json_t *answer, size_t bytes);
    void *ctx;
} redis_query_hooks;
void redis_adapter_set_query_hooks(redis_adapter *a, const redis_query_hooks *h);
/* fetchSockets / allRooms (r->type 5 or 1, with request_id and opts): once this
 * node's subscription of the namespace is active, counts the others, publishes,
 * and calls the hooks. Each successful call opens a query that the caller
 * closes with redis_adapter_query_done() (answers are decoded while any is
 * open). 0, -EAGAIN (Redis down), -ENOTSUP, -ENOMEM. */
int redis_adapter_query(redis_adapter *a, const char *nsp, adapter_request *r);
void redis_adapter_query_done(redis_adapter *a);

/* REDIS_ADAPTER=sharded: its router's stats, primaries and channels not yet
 * confirmed; NULL otherwise. */
const redis_cluster_stats *redis_adapter_cluster_stats(const redis_adapter *a, size_t *primaries,
                                                       size_t *unconfirmed);

#endif
