/* redis_sharded: the adapter's REDIS_ADAPTER=sharded mode, wire-compatible
 * with the sharded adapter of @socket.io/redis-adapter 8.2+
 * (createShardedAdapter): socket.io-adapter's ClusterAdapter messages
 * (cluster_adapter.h) over Redis 7 sharded pub/sub, on a Redis Cluster or a
 * single Redis (redis_cluster.h).
 *
 * Channels, as Node names them: per namespace `prefix#nsp#` (everything not
 * sent to a room channel; SHARDNUMSUB of it is Node's serverCount) and this
 * node's `prefix#nsp#<uid>#` (answers to it); with subscription mode
 * `dynamic` (the default) also `prefix#nsp#room#` for each room with a local
 * member that is not a socket's own room, with `dynamic-private` for every
 * room, with `static` none. Each channel lives on the shard owning its slot.
 * A broadcast to exactly one room goes to that room's channel (in `dynamic`
 * unless the room looks like a socket id, 20 characters, as Node decides),
 * anything else to `prefix#nsp#`; always as msgpack (Node reads both forms).
 * No connection state recovery: see docs/DEPLOY.md. Cluster thread only. */
#ifndef SIO_REDIS_SHARDED_H
#define SIO_REDIS_SHARDED_H

#include "redis_adapter_internal.h"
#include "redis_cluster.h"

typedef enum sharded_mode { SHARDED_DYNAMIC = 0, SHARDED_STATIC, SHARDED_DYNAMIC_PRIVATE } sharded_mode;

typedef struct redis_sharded redis_sharded;

/* The mode's state; its router (one Redis, or a cluster's primaries) is
 * created with redis_sharded_callbacks() and handed over by attach (owned). */
redis_sharded *redis_sharded_new(redis_adapter *a, sharded_mode mode);
const redis_cluster_callbacks *redis_sharded_callbacks(const redis_sharded *s);
void redis_sharded_attach(redis_sharded *s, redis_cluster *cl);
void redis_sharded_free(redis_sharded *s);
/* The router the adapter's outbox publishes through. */
redis_cluster *redis_sharded_cluster(const redis_sharded *s);
/* A namespace appears (1) or goes (0): its two channels and its rooms'. */
void redis_sharded_namespace(redis_sharded *s, nsp_state *ns, int on);
/* A room with a local member appears (1) or goes (0). */
void redis_sharded_room(redis_sharded *s, nsp_state *ns, const char *room, int on);
/* SPUBLISHes a broadcast through the outbox: 0, -ENOBUFS or -EINVAL. */
int redis_sharded_publish(redis_sharded *s, nsp_state *ns, const adapter_broadcast *b);
/* The edge's answer to another node's request. */
void redis_sharded_reply(redis_sharded *s, const reply_msg *m);
/* fn(ud) once every channel subscribed so far is active. */
void redis_sharded_barrier(redis_sharded *s, void (*fn)(void *ud), void *ud);
int redis_sharded_is_up(const redis_sharded *s);

#endif
