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

/* Appends the response-channel payload answering with `m` (MSG_REPLY): the
 * Node adapter's JSON response, or the msgpack {type:9, requestId, packet} of
 * an ack. 0, or -1 (unknown kind, out of memory). */
int adapter_wire_reply(const reply_msg *m, bytebuf *out);

#endif
