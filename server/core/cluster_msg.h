/* cluster_msg: the messages the edge and cluster threads exchange. Immutable
 * once pushed (except `next`, owned by the mailbox holding it) and
 * reference-counted, so one message can be read by both threads.
 *
 * MSG_BROADCAST (cluster -> edge, and edge -> cluster for publishing): a
 *   Socket.IO packet already encoded for `nsp`, with its target rooms. The
 *   edge only fans it out; encoding happens once, wherever it was produced.
 * MSG_NAMESPACE, MSG_ROOM (edge -> cluster): a namespace appeared (or, for an
 *   empty dynamic child, went: created 0); a room got
 *   its first local member or lost its last (per-room Redis subscriptions).
 * MSG_REQUEST (cluster -> edge): another node's request that needs this node's
 *   sockets (fetchSockets, socketsJoin/Leave, disconnectSockets, broadcast with
 *   ack: the packet then comes pre-encoded with its ack id).
 * MSG_RESPONSE (edge -> cluster): the bytes to publish on the response channel.
 * MSG_METRICS (cluster -> edge with no payload; edge -> cluster with the edge's
 *   Prometheus text): a scrape of /metrics, matched by `token`. */
#ifndef SIO_CLUSTER_MSG_H
#define SIO_CLUSTER_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sio_outpacket.h"

typedef enum cluster_msg_type {
    MSG_BROADCAST = 1,
    MSG_NAMESPACE,
    MSG_ROOM,
    MSG_REQUEST,
    MSG_RESPONSE,
    MSG_METRICS,
} cluster_msg_type;

typedef struct cluster_msg {
    struct cluster_msg *next;
    atomic_uint refs;
    uint16_t type;
    uint32_t bytes;       /* memory it holds (allocation + packet frames): mailbox bounds */
} cluster_msg;

typedef struct broadcast_msg {
    cluster_msg hdr;
    sio_outpacket *packet;
    const char *nsp;
    const char *const *rooms;
    size_t n_rooms;
    const char *const *except;
    size_t n_except;
    int is_volatile;
    int64_t publish_us;     /* wall-clock publish time (µs), 0 if unknown; set before pushing */
    /* nsp, room strings and the pointer arrays live in the same allocation */
} broadcast_msg;

/* Builds a broadcast message; copies every string; takes a new reference on
 * `packet`. Returns NULL on allocation failure. */
broadcast_msg *broadcast_msg_new(const char *nsp, const char *const *rooms, size_t n_rooms,
                                 const char *const *except, size_t n_except, int is_volatile,
                                 sio_outpacket *packet);

typedef struct room_msg {
    cluster_msg hdr;      /* MSG_NAMESPACE (room NULL) or MSG_ROOM */
    int created;
    const char *nsp;
    const char *room;
} room_msg;

room_msg *room_msg_new(cluster_msg_type type, const char *nsp, const char *room, int created);

typedef struct request_msg {
    cluster_msg hdr;      /* MSG_REQUEST */
    int request_type;     /* adapter_request_type */
    const char *nsp;
    const char *request_id; /* "" when none */
    const char *const *rooms;   /* opts.rooms */
    size_t n_rooms;
    const char *const *except;  /* opts.except */
    size_t n_except;
    const char *const *targets; /* rooms to join / leave */
    size_t n_targets;
    const char *sid;      /* legacy single-socket form, "" when none */
    int close;
    /* ADAPTER_BROADCAST (with ack): the packet, encoded once with ack id
     * `ack_id`, and how long its acks are awaited */
    sio_outpacket *packet;
    int64_t ack_id;
    int64_t timeout_ms;
} request_msg;

request_msg *request_msg_new(int request_type, const char *nsp, const char *request_id,
                             const char *const *rooms, size_t n_rooms, const char *const *except,
                             size_t n_except, const char *const *targets, size_t n_targets,
                             const char *sid, int close);

/* Attaches an encoded packet (the message takes the caller's reference) and
 * counts its frames in hdr.bytes. */
void request_msg_set_packet(request_msg *m, sio_outpacket *packet);

typedef struct response_msg {
    cluster_msg hdr;      /* MSG_RESPONSE, or MSG_METRICS */
    uint64_t token;       /* MSG_METRICS: the scrape it answers */
    const char *nsp;
    size_t len;
    const uint8_t *payload;
} response_msg;

/* Takes the bytes by copy. */
response_msg *response_msg_new(const char *nsp, const void *payload, size_t len);
/* A metrics request (len 0) or reply, for scrape `token`. */
response_msg *metrics_msg_new(uint64_t token, const void *text, size_t len);

void cluster_msg_unref(cluster_msg *m);

#endif
