/* adapter_msg: the Redis wire format of @socket.io/redis-adapter 8.x (classic
 * pub/sub) and @socket.io/redis-emitter 5.x. Pure codec: msgpack-c + jansson,
 * no I/O. The format is defined by the code of those packages:
 * https://github.com/socketio/socket.io-redis-adapter (lib/index.ts) and
 * https://github.com/socketio/socket.io-redis-emitter (lib/index.ts).
 *
 * Binary values: msgpack `bin` inside packet data becomes a Socket.IO
 * placeholder {"_placeholder":true,"num":i} in `data` plus bins[i] (owned
 * copies); encoding does the reverse. Room names that arrive as msgpack
 * numbers are turned into the string JavaScript would print (42 -> "42",
 * 1.5 -> "1.5"). Unknown keys are ignored; key order is never assumed.
 *
 * Ownership: *_decode() fills `out` with owned members; *_clear() frees them
 * (safe on a zeroed or already cleared struct). Every malformed input returns
 * < 0 and leaves nothing to free. Limits bound rooms, bins, depth and sizes. */
#ifndef SIO_ADAPTER_MSG_H
#define SIO_ADAPTER_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bytebuf.h"

typedef struct adapter_limits {
    size_t max_rooms;     /* rooms + except, e.g. 1024 */
    size_t max_bins;      /* binary values per packet, e.g. 64 */
    size_t max_depth;     /* nesting of packet data, e.g. 64 */
    size_t max_string;    /* bytes of any one string/bin, e.g. 16 MiB */
} adapter_limits;

typedef struct adapter_bin {
    uint8_t *data;
    size_t len;
} adapter_bin;

/* A Socket.IO packet as the adapter carries it: {type, data, nsp[, id]}. */
typedef struct adapter_packet {
    int type;              /* Socket.IO packet type (2 EVENT, 3 ACK, ...) */
    char *nsp;             /* "/" when absent */
    int64_t id;            /* -1 when absent */
    json_t *data;          /* may be NULL; binary values as placeholders */
    adapter_bin *bins;
    size_t n_bins;
} adapter_packet;

typedef struct adapter_flags {
    int is_volatile;
    int compress;          /* -1 when absent */
    int local;
    int64_t timeout_ms;    /* -1 when absent */
} adapter_flags;

/* Broadcast message on `prefix#nsp#` or `prefix#nsp#room#`: [uid, packet, opts]. */
typedef struct adapter_broadcast {
    char *uid;
    adapter_packet packet;
    char **rooms;
    size_t n_rooms;
    char **except;
    size_t n_except;
    adapter_flags flags;
    /* sio's connection-state-recovery offset, opts.flags.offset (Node's adapter
     * ignores unknown flags); NULL when absent; owned when decoded. Encoded as
     * the very last value of the message, so that the bytes of a message
     * encoded with "" end with the empty string (0xa0), for a Redis script to
     * replace with the offset it assigns. */
    char *offset;
} adapter_broadcast;

int adapter_broadcast_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                             adapter_broadcast *out);
void adapter_broadcast_clear(adapter_broadcast *b);
/* Appends the msgpack of `b` as notepack.io would write it: opts keys in the
 * order rooms, except, flags; flags holds only what is set. */
int adapter_broadcast_encode(const adapter_broadcast *b, bytebuf *out);

typedef enum adapter_request_type {
    ADAPTER_SOCKETS = 0,
    ADAPTER_ALL_ROOMS = 1,
    ADAPTER_REMOTE_JOIN = 2,
    ADAPTER_REMOTE_LEAVE = 3,
    ADAPTER_REMOTE_DISCONNECT = 4,
    ADAPTER_REMOTE_FETCH = 5,
    ADAPTER_SERVER_SIDE_EMIT = 6,
    ADAPTER_BROADCAST = 7,
    ADAPTER_BROADCAST_CLIENT_COUNT = 8,
    ADAPTER_BROADCAST_ACK = 9,
} adapter_request_type;

/* A request on `prefix-request#nsp#` (JSON when the first byte is '{', else
 * msgpack), or a response on `prefix-response#nsp#[uid#]`. */
typedef struct adapter_request {
    int type;              /* adapter_request_type; -1 when absent */
    char *uid;             /* NULL when absent (the emitter sends none for 2/3/4) */
    char *request_id;      /* NULL when absent */
    int has_opts;          /* opts {rooms, except} present */
    char **opts_rooms;
    size_t n_opts_rooms;
    char **opts_except;
    size_t n_opts_except;
    char **rooms;          /* REMOTE_JOIN / REMOTE_LEAVE: the rooms to join/leave */
    size_t n_rooms;
    char *sid;             /* legacy single-socket form of 2/3/4 */
    char *room;
    int close;             /* REMOTE_DISCONNECT */
    json_t *data;          /* SERVER_SIDE_EMIT: [event, ...args]; responses: "data" */
    adapter_packet packet; /* BROADCAST (7); BROADCAST_ACK (9): packet is the ack argument in data */
    adapter_flags flags;   /* BROADCAST (7): opts.flags */
    int64_t client_count;  /* BROADCAST_CLIENT_COUNT (8) */
    json_t *json;          /* the whole decoded JSON object when JSON (responses: sockets, rooms) */
} adapter_request;

int adapter_request_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                           adapter_request *out);
void adapter_request_clear(adapter_request *r);

/* A request this node originates, as the Node adapter publishes it: JSON text
 * (JSON.stringify's key order). SOCKETS (0), ALL_ROOMS (1), REMOTE_FETCH (5):
 * {uid, requestId, type[, opts:{rooms, except}]} (request_id required);
 * REMOTE_JOIN / REMOTE_LEAVE (2/3): {uid, type, opts, rooms}; REMOTE_DISCONNECT
 * (4): {uid, type, opts, close}. Reads only those fields of `r`. 0, or -1 (any
 * other type, a missing requestId, out of memory: `out` unchanged). */
int adapter_request_encode(const adapter_request *r, bytebuf *out);

/* Encodes the msgpack map {type:7, uid, requestId, packet, opts:{rooms,except,flags}}. */
int adapter_broadcast_request_encode(const char *uid, const char *request_id,
                                     const adapter_broadcast *b, bytebuf *out);
/* Encodes the msgpack map {type:9, requestId, packet:<value>}, where the value
 * is `arg` (JSON, placeholders resolved to `bins` as msgpack bin). */
int adapter_broadcast_ack_encode(const char *request_id, const json_t *arg,
                                 const adapter_bin *bins, size_t n_bins, bytebuf *out);

/* @socket.io/redis-streams-adapter 0.3 (socket.io-adapter's ClusterAdapter):
 * a BROADCAST's data {packet, opts:{rooms, except, flags}}, which the stream
 * entry's `data` field holds as JSON text, or (when the packet has binaries)
 * as base64 of this msgpack (the base64 is the caller's). A data holding a
 * requestId (a broadcast with ack) is refused: those never enter the stream.
 * The JSON form is encoded without binaries only (NULL otherwise). `uid` and
 * `offset` are not part of this form. */
int adapter_cluster_broadcast_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                                     adapter_broadcast *out);
int adapter_cluster_broadcast_decode_json(const char *text, size_t len, const adapter_limits *lim,
                                          adapter_broadcast *out);
int adapter_cluster_broadcast_encode(const adapter_broadcast *b, bytebuf *out);
char *adapter_cluster_broadcast_json(const adapter_broadcast *b); /* malloc'd, or NULL */
/* A whole ClusterAdapter message {uid, nsp, type, data} as the sharded adapter
 * of @socket.io/redis-adapter 8.2+ publishes it (createShardedAdapter): JSON
 * text when the first byte is '{', else msgpack. Binaries become placeholders
 * naming *bins (owned copies; *bins must be NULL and *n_bins 0 on entry).
 * 0, or < 0 leaving nothing to free. */
int adapter_cluster_message_decode(const uint8_t *msg, size_t len, const adapter_limits *lim,
                                   json_t **out, adapter_bin **bins, size_t *n_bins);
/* The `data` {packet, opts} of such a BROADCAST (type 3, no requestId) as a
 * broadcast; takes ownership of `bins` whatever happens. */
int adapter_cluster_broadcast_from_json(const json_t *data, adapter_bin *bins, size_t n_bins,
                                        const adapter_limits *lim, adapter_broadcast *out);
/* Appends the msgpack message {uid, nsp, type: 3, data: {packet, opts}}. */
int adapter_cluster_message_broadcast_encode(const char *uid, const char *nsp,
                                             const adapter_broadcast *b, bytebuf *out);
/* A JSON value as msgpack, placeholders becoming bins[num] as bin (a stored
 * session, a cluster-adapter message). */
int adapter_value_encode(const json_t *v, const adapter_bin *bins, size_t n_bins, bytebuf *out);

/* Converts one msgpack-encoded value to JSON with placeholders (exposed for
 * tests and the fuzzer); appends owned copies of binaries to *bins. */
int adapter_value_decode(const uint8_t *msg, size_t len, const adapter_limits *lim, json_t **out,
                         adapter_bin **bins, size_t *n_bins);

#endif
