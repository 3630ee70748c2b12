/* cluster_msg: the messages the edge and cluster threads exchange. Immutable
 * once pushed (except `next`, owned by the mailbox holding it) and
 * reference-counted, so one message can be read by both threads.
 *
 * The edge hands the cluster thread plain data (socket ids, rooms, handshake
 * snapshots, event and ack arguments, binary attachments); only the cluster
 * thread knows a wire format of the cluster (adapters/redis/ encodes and
 * decodes the Redis adapter's JSON and msgpack). Nothing here is an envelope.
 *
 * MSG_BROADCAST (cluster -> edge, and edge -> cluster for publishing): a
 *   Socket.IO packet already encoded for `nsp` (frames for local delivery),
 *   with its target rooms. The edge only fans it out; encoding happens once,
 *   wherever it was produced. From the edge it may also carry the packet's
 *   data (broadcast_msg_set_data), from which the cluster thread encodes its
 *   wire format without decoding the Socket.IO text again.
 * MSG_NAMESPACE, MSG_ROOM (edge -> cluster): a namespace appeared (or, for an
 *   empty dynamic child, went: created 0); a room got
 *   its first local member or lost its last (per-room Redis subscriptions).
 * MSG_REQUEST (cluster -> edge): another node's request (or the HTTP API's own,
 *   its reply then kept by the cluster thread) that needs this node's sockets (a cluster_request_kind: fetch, socket ids, rooms, join, leave,
 *   disconnect, broadcast with ack: the packet then comes pre-encoded with its
 *   ack id).
 * MSG_REPLY (edge -> cluster): the data answering a request (reply_msg), or
 *   one client's ack of a broadcast with ack.
 * MSG_RESPONSE: an opaque byte payload tagged with a namespace (the generic
 *   byte message; no thread sends one to the other any more).
 * MSG_METRICS (cluster -> edge with the node id as payload; edge -> cluster
 *   with the edge's Prometheus text): a scrape of /metrics, matched by `token`.
 * MSG_SESSION (edge -> cluster): a recoverable session changed (live, kept
 *   for the window, or ended): its id, pid, rooms and data (session_msg).
 * MSG_RESTORE (edge -> cluster): a client came back with {pid, offset};
 *   MSG_RESTORED (cluster -> edge) answers it, matched by `token`: the
 *   session (when found) and the packets it missed, encoded with their offsets.
 * MSG_BARRIER (edge -> cluster), MSG_BARRIER_DONE (cluster -> edge): every
 *   subscription asked for before the barrier is active on Redis (`token`).
 * MSG_RESYNC (cluster -> edge): Redis came back (maybe empty): report every
 *   live session again.
 * MSG_DRAIN (cluster -> edge): the platform is stopping this task (the ECS
 *   task metadata says so): start the drain now, before SIGTERM comes.
 * MSG_BACKEND (edge -> cluster): something for the application's backend (a
 *   connect to decide, a client event, a lifecycle event): its plain fields
 *   and attachments (backend_msg); the cluster thread POSTs it or XADDs it.
 *   MSG_BACKEND_DONE (cluster -> edge) answers one that has a `token`, with
 *   the backend's checked answer or an error (-ETIMEDOUT, -EPROTO, ...).
 *
 * Ownership: every constructor returns one reference (hdr.refs 1) or NULL
 * when out of memory, and copies what it is given unless said otherwise;
 * cluster_msg_unref() frees the message and all it owns. */
#ifndef SIO_CLUSTER_MSG_H
#define SIO_CLUSTER_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sio_outpacket.h"

typedef enum cluster_msg_type {
    MSG_BROADCAST = 1,
    MSG_NAMESPACE,
    MSG_ROOM,
    MSG_REQUEST,
    MSG_RESPONSE,
    MSG_METRICS,
    MSG_REPLY,
    MSG_SESSION,
    MSG_RESTORE,
    MSG_RESTORED,
    MSG_BARRIER,
    MSG_BARRIER_DONE,
    MSG_RESYNC,
    MSG_BACKEND,
    MSG_BACKEND_DONE,
    MSG_DRAIN,
} cluster_msg_type;

/* What another node asks of this node's sockets (MSG_REQUEST). */
typedef enum cluster_request_kind {
    CLUSTER_REQ_SOCKETS = 1,   /* the ids of the selected sockets */
    CLUSTER_REQ_ALL_ROOMS,     /* every room with a local member */
    CLUSTER_REQ_JOIN,          /* selected sockets join `targets` */
    CLUSTER_REQ_LEAVE,         /* selected sockets leave `targets` */
    CLUSTER_REQ_DISCONNECT,    /* selected sockets are disconnected (`close`) */
    CLUSTER_REQ_FETCH,         /* snapshots of the selected sockets */
    CLUSTER_REQ_BROADCAST_ACK, /* send `packet` to the selected sockets, count, relay acks */
} cluster_request_kind;

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
    /* Cluster -> edge: the recovery offset the cluster gave it (its packet
     * carries it as its last argument), "" when none. */
    char offset[48];
    /* Edge -> cluster, optional: the packet's data ([event, ...args], binary
     * values as {"_placeholder":true,"num":i} for packet->frames[1 + i]);
     * owned (the only reference). NULL: only the frames are known. */
    json_t *data;
    /* nsp, room strings and the pointer arrays live in the same allocation */
} broadcast_msg;

/* Builds a broadcast message; copies every string; takes a new reference on
 * `packet`. Returns NULL on allocation failure. */
broadcast_msg *broadcast_msg_new(const char *nsp, const char *const *rooms, size_t n_rooms,
                                 const char *const *except, size_t n_except, int is_volatile,
                                 sio_outpacket *packet);
/* Attaches the packet's data (the message takes the caller's reference, which
 * must be the only one: a deep copy) and counts it in hdr.bytes. */
void broadcast_msg_set_data(broadcast_msg *m, json_t *data);

typedef struct room_msg {
    cluster_msg hdr;      /* MSG_NAMESPACE (room NULL) or MSG_ROOM */
    int created;
    const char *nsp;
    const char *room;
} room_msg;

room_msg *room_msg_new(cluster_msg_type type, const char *nsp, const char *room, int created);

typedef struct request_msg {
    cluster_msg hdr;      /* MSG_REQUEST */
    int request_type;     /* cluster_request_kind */
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
    /* CLUSTER_REQ_BROADCAST_ACK: the packet, encoded once with ack id
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

/* An opaque byte payload: MSG_RESPONSE, or MSG_METRICS. */
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

/* What the edge answers (MSG_REPLY). */
typedef enum cluster_reply_kind {
    CLUSTER_REPLY_DONE = 1,      /* a join/leave/disconnect of one socket was applied */
    CLUSTER_REPLY_SOCKET_IDS,    /* CLUSTER_REQ_SOCKETS: `names` are socket ids */
    CLUSTER_REPLY_ROOMS,         /* CLUSTER_REQ_ALL_ROOMS: `names` are rooms */
    CLUSTER_REPLY_SOCKETS,       /* CLUSTER_REQ_FETCH: `sockets` */
    CLUSTER_REPLY_CLIENT_COUNT,  /* CLUSTER_REQ_BROADCAST_ACK: sockets that got it */
    CLUSTER_REPLY_ACK,           /* CLUSTER_REQ_BROADCAST_ACK: one client's ack */
} cluster_reply_kind;

/* A socket as fetchSockets reports it: its id, rooms, handshake and data. One
 * allocation (strings included) plus `auth` and `data`, owned. */
typedef struct socket_snapshot {
    const char *id;
    const char *const *rooms;
    size_t n_rooms;
    /* the handshake request */
    const char *remote_addr;
    const char *query;          /* the raw query string */
    const char *user_agent;     /* "" when absent */
    const char *origin;         /* "" when absent */
    const char *url;            /* path + query */
    int64_t issued_ms;          /* wall clock at handshake */
    json_t *auth;               /* the auth payload; owned (the only reference) */
    json_t *data;               /* socket.data; owned (the only reference); NULL: {} */
} socket_snapshot;

/* The handshake fields of a socket_snapshot, as the edge knows them (borrowed). */
typedef struct socket_handshake {
    const char *remote_addr, *query, *user_agent, *origin, *url;
    int64_t issued_ms;
} socket_handshake;

typedef struct reply_msg {
    cluster_msg hdr;            /* MSG_REPLY */
    int kind;                   /* cluster_reply_kind */
    const char *nsp;
    const char *request_id;     /* the request's id, "" when none */
    int64_t client_count;       /* CLUSTER_REPLY_CLIENT_COUNT */
    char **names;               /* CLUSTER_REPLY_SOCKET_IDS / _ROOMS; owned */
    size_t n_names, cap_names;
    socket_snapshot **sockets;  /* CLUSTER_REPLY_SOCKETS; owned */
    size_t n_sockets, cap_sockets;
    json_t *args;               /* CLUSTER_REPLY_ACK: the ack's arguments (an array, binary
                                 * values as placeholders for `bins`); owned, the only reference */
    sio_bin *bins;              /* CLUSTER_REPLY_ACK: owned copies of the attachments */
    size_t n_bins;
} reply_msg;

/* A reply of `kind` to request `request_id` ("" when none) for `nsp`: empty
 * until the adders below fill it (before it is pushed). */
reply_msg *reply_msg_new(cluster_reply_kind kind, const char *nsp, const char *request_id);
/* Appends a copy of a socket id or room name. 0, or -1 (out of memory). */
int reply_msg_add_name(reply_msg *m, const char *name, size_t len);
/* Appends a snapshot (copies id, rooms and handshake strings; takes the
 * caller's references on `auth` and `data`, which must be the only ones;
 * NULL: {}). 0 or -1 (out of memory: `auth` and `data` are released). */
int reply_msg_add_socket(reply_msg *m, const char *id, const char *const *rooms, size_t n_rooms,
                         const socket_handshake *hs, json_t *auth, json_t *data);
/* Sets an ack's arguments (takes the caller's only reference on `args`) and
 * copies its attachments. 0, or -1 (out of memory: `args` is released). */
int reply_msg_set_ack(reply_msg *m, json_t *args, const sio_bin *bins, size_t n_bins);

/* A session of connection state recovery (MSG_SESSION, MSG_RESTORE,
 * MSG_RESTORED). Strings live in the message's allocation. */
typedef enum cluster_session_event {
    CLUSTER_SESSION_LIVE = 1,    /* connected, or its rooms or data changed */
    CLUSTER_SESSION_PERSIST,     /* gone for a recoverable reason: keep it for the window */
    CLUSTER_SESSION_END,         /* gone for good */
} cluster_session_event;

typedef struct session_msg {
    cluster_msg hdr;
    int event;                  /* MSG_SESSION: cluster_session_event; MSG_RESTORED: 1 found, 0 not */
    uint64_t token;             /* MSG_RESTORE / MSG_RESTORED */
    const char *nsp;
    const char *sid;            /* "" when unknown */
    const char *pid;
    const char *offset;         /* MSG_RESTORE: the client's; MSG_RESTORED: the newest looked at */
    const char *const *rooms;
    size_t n_rooms;
    json_t *data;               /* socket.data; owned, the only reference; NULL: {} */
    sio_outpacket **packets;    /* MSG_RESTORED: what it missed, in order; owned refs */
    size_t n_packets, cap_packets;
} session_msg;

session_msg *session_msg_new(cluster_msg_type type, const char *nsp, const char *sid,
                             const char *pid, const char *offset, const char *const *rooms,
                             size_t n_rooms);
/* Takes the caller's only reference on `data`, counted in hdr.bytes. */
void session_msg_set_data(session_msg *m, json_t *data);
/* Appends a packet (takes the caller's reference). 0, or -1 (released). */
int session_msg_add_packet(session_msg *m, sio_outpacket *p);

/* A message that is only its type and token: MSG_BARRIER, MSG_BARRIER_DONE, MSG_RESYNC, MSG_DRAIN. */
cluster_msg *token_msg_new(cluster_msg_type type, uint64_t token);
uint64_t token_msg_token(const cluster_msg *m);

/* MSG_BACKEND and MSG_BACKEND_DONE. */
typedef struct backend_msg {
    cluster_msg hdr;
    int type;                   /* backend_type (protocol/backend_wire.h) */
    uint64_t token;             /* the edge's, echoed in the answer; 0: no answer wanted */
    const char *nsp;            /* in the message's allocation */
    const char *sid;
    /* MSG_BACKEND: the request's fields; MSG_BACKEND_DONE: the answer (NULL on
     * error). Owned, the only reference. */
    json_t *json;
    sio_bin *bins;              /* owned copies, in one allocation */
    size_t n_bins;
    int error;                  /* MSG_BACKEND_DONE: 0 or a negative errno */
    int status;                 /* the backend's HTTP status, 0 when none */
    char error_text[120];
} backend_msg;

backend_msg *backend_msg_new(cluster_msg_type type, int backend_type, uint64_t token,
                             const char *nsp, const char *sid);
/* Takes the caller's only reference on `json` and copies the attachments.
 * 0, or -1 (out of memory: `json` is released). */
int backend_msg_set(backend_msg *m, json_t *json, const sio_bin *bins, size_t n_bins);

void cluster_msg_unref(cluster_msg *m);

#endif
