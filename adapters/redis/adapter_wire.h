/* adapter_wire: the Redis adapter's envelopes around the cluster's neutral
 * messages (cluster_msg.h), on the cluster thread only. The edge sends plain
 * data; this is where it becomes what @socket.io/redis-adapter 8.x expects on
 * `prefix-response#nsp#` (JSON for the socket, room and client-count
 * responses, msgpack for an ack), and where the adapter's request types become
 * cluster_request_kind. The codec itself is protocol/adapter_msg.
 *
 * Ownership: the encoders append to a caller's bytebuf (unchanged on
 * failure) and borrow everything else. */
#ifndef SIO_ADAPTER_WIRE_H
#define SIO_ADAPTER_WIRE_H

#include "bytebuf.h"
#include "cluster_msg.h"

/* The cluster_request_kind of an adapter_request_type that needs the edge's
 * sockets; 0 for any other type. */
int adapter_wire_request_kind(int adapter_type);

/* A socket as the Node adapter's REMOTE_FETCH response (and fetchSockets)
 * carries it: {id, handshake, rooms, data}. A new object, NULL on OOM. */
json_t *adapter_wire_socket_json(const socket_snapshot *s);

/* Appends the response-channel payload answering with `m` (MSG_REPLY): the
 * Node adapter's JSON response, or the msgpack {type:9, requestId, packet} of
 * an ack. 0, or -1 (unknown kind, out of memory). */
int adapter_wire_reply(const reply_msg *m, bytebuf *out);

/* socket.io-adapter's ClusterAdapter messages (REDIS_ADAPTER=streams): msgpack
 * {uid, nsp, type, data} on `prefix#nsp#[uid#]`. */
typedef enum cluster_adapter_type {
    CLUSTER_BROADCAST = 3,
    CLUSTER_SOCKETS_JOIN = 4,
    CLUSTER_SOCKETS_LEAVE = 5,
    CLUSTER_DISCONNECT_SOCKETS = 6,
    CLUSTER_FETCH_SOCKETS = 7,
    CLUSTER_FETCH_SOCKETS_RESPONSE = 8,
    CLUSTER_SERVER_SIDE_EMIT = 9,
    CLUSTER_SERVER_SIDE_EMIT_RESPONSE = 10,
    CLUSTER_BROADCAST_CLIENT_COUNT = 11,
    CLUSTER_BROADCAST_ACK = 12,
} cluster_adapter_type;

/* Appends the message {uid, nsp, type, data} (takes `data`'s reference;
 * placeholders in it name `bins`). 0, or -1. */
int adapter_wire_cluster_message(const char *uid, const char *nsp, int type, json_t *data,
                                 const sio_bin *bins, size_t n_bins, bytebuf *out);
/* The ClusterAdapter response answering with `m`: FETCH_SOCKETS_RESPONSE,
 * BROADCAST_CLIENT_COUNT or BROADCAST_ACK, from node `uid`. 0, or -1. */
int adapter_wire_cluster_reply(const reply_msg *m, const char *uid, bytebuf *out);

#endif
