/* cluster_adapter: socket.io-adapter's ClusterAdapter protocol, the messages
 * {uid, nsp, type, data} that @socket.io/redis-streams-adapter (over pub/sub,
 * beside its stream) and the sharded adapter of @socket.io/redis-adapter
 * (createShardedAdapter, over SPUBLISH) exchange: JSON text, or msgpack when
 * they carry binaries. Shared by redis_streams.c and redis_sharded.c, which
 * differ only in how a message is published (the `publish` callback).
 *
 * What a sio node does with them: a BROADCAST (3) without ack goes to the
 * edge (its local members); SOCKETS_JOIN/LEAVE (4, 5) and DISCONNECT_SOCKETS
 * (6) are applied; FETCH_SOCKETS (7) and a BROADCAST with ack go to the edge,
 * whose answers (cluster_adapter_reply) are published to the requester's
 * `prefix#nsp#<uid>#`; a SERVER_SIDE_EMIT (9) that wants acks is answered
 * null (sio has no server-side handlers). Responses are ignored: a sio node
 * makes no requests. Its own messages and other namespaces' are skipped.
 * Cluster thread only. */
#ifndef SIO_CLUSTER_ADAPTER_H
#define SIO_CLUSTER_ADAPTER_H

#include "redis_adapter_internal.h"

typedef struct requester requester;

typedef struct cluster_adapter {
    redis_adapter *a;
    /* publishes `payload` on `channel` (a requester's response channel) */
    void (*publish)(void *ctx, const char *channel, const uint8_t *payload, size_t len);
    void *ctx;
    requester *requesters; /* requests being answered: where the answers go */
} cluster_adapter;

void cluster_adapter_init(cluster_adapter *s, redis_adapter *a,
                          void (*publish)(void *ctx, const char *channel, const uint8_t *payload,
                                          size_t len),
                          void *ctx);
void cluster_adapter_clear(cluster_adapter *s);
/* A raw message received for namespace `ns` (borrowed). */
void cluster_adapter_on_message(cluster_adapter *s, nsp_state *ns, const uint8_t *msg, size_t len);
/* SOCKETS_JOIN, SOCKETS_LEAVE or DISCONNECT_SOCKETS with its JSON data, for the edge. */
void cluster_adapter_request(redis_adapter *a, nsp_state *ns, int type, const json_t *data);
/* The edge's answer to a request: published to its requester. */
void cluster_adapter_reply(cluster_adapter *s, const reply_msg *m);
/* `prefix#nsp#<uid>#` (malloc'd): a node's own response channel. */
char *cluster_adapter_channel(const redis_adapter *a, const char *nsp, const char *uid);

#endif
