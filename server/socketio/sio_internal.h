/* sio_internal: structures of the Socket.IO layer shared by sio_server.c
 * (clients and packet dispatch), sio_namespace.c and sio_socket.c. */
#ifndef SIO_SIO_INTERNAL_H
#define SIO_SIO_INTERNAL_H

#include "deadline_list.h"
#include "deadline_timer.h"
#include "eio_server.h"
#include "hashmap.h"
#include "plain_msg.h"
#include "random_id.h"
#include "room_index.h"
#include "sio.h"
#include "sio_outpacket.h"
#include "sio_packet.h"
#include "sio_recovery.h"

#define SIO_ID_LEN RANDOM_ID_LEN
#define SIO_MAX_NSP_LEN 256

typedef struct sio_client sio_client;
typedef struct sio_held sio_held; /* a restored session kept while a middleware waits */

typedef struct sio_event_handler {
    struct sio_event_handler *next;
    sio_event_fn fn;
    void *ud;
    char name[];
} sio_event_handler;

typedef struct sio_middleware {
    struct sio_middleware *next;
    sio_middleware_fn fn;        /* one of the two is set */
    sio_async_middleware_fn async_fn;
    void *ud;
} sio_middleware;

/* Handlers: a pattern namespace's children use the pattern's. */
typedef struct sio_handlers {
    sio_connection_fn on_connection;
    void *connection_ud;
    sio_disconnect_fn on_disconnect;
    void *disconnect_ud;
    sio_event_fn on_any;
    void *any_ud;
    sio_event_handler *events;
    sio_middleware *middlewares; /* in registration order */
} sio_handlers;

struct sio_namespace {
    sio_server *srv;
    char *name;
    uint64_t id;                 /* unique in the server: ack handles name it */
    int is_pattern;
    int registered;              /* in srv->namespaces (a child only once admitted) */
    unsigned connecting;         /* sockets running middlewares on it */
    int reap_queued;             /* an empty child waiting in srv->reap */
    sio_namespace *parent;       /* the pattern a dynamic child was made from */
    sio_handlers own;
    sio_handlers *handlers;      /* &own, or &parent->own */
    hashmap sockets;             /* id -> sio_socket */
    sio_socket *first;           /* every connected socket, for room-less broadcasts */
    room_index rooms;
    uint64_t epoch;              /* broadcast marks */
    int64_t next_ack_id;         /* namespace-wide, as socket.io's nsp._ids */
    sio_namespace *next_pattern; /* server's pattern list */
};

typedef struct sio_pending_ack {
    struct sio_pending_ack *next;
    sio_socket *socket;
    int64_t id;
    sio_ack_fn fn;
    void *ud;
    uv_timer_t timer;
} sio_pending_ack;

struct sio_socket {
    /* what a broadcast reads of each recipient, in its first cache line */
    uint64_t mark, except_mark;   /* broadcast epoch marks */
    eio_session *session;         /* client->conn, for the fan-out */
    sio_client *client;
    char id[SIO_ID_LEN + 1];
    uint8_t msgpack;              /* its client's, copied: what a broadcast sends it */
    sio_namespace *nsp;
    sio_socket *client_next;      /* the client's sockets, one per namespace */
    sio_socket *nsp_prev, *nsp_next;
    member_rooms rooms;
    sio_pending_ack *acks;
    json_t *auth;
    json_t *data;                 /* socket.data: an object, NULL until asked for ({}) */
    void *user;
    /* recovery (cfg.recovery_window_ms): */
    char pid[SIO_ID_LEN + 1];     /* "" when off */
    int recovered;
    char covered[SIO_OFFSET_MAX]; /* live broadcasts up to this offset were replayed */
    sio_socket *dirty_prev, *dirty_next; /* in srv->dirty: LIVE to report */
    int dirty;
    /* suspended by an asynchronous middleware (sio_connect.c): */
    uint64_t connect_token;       /* key in srv->connects */
    const sio_middleware *resume; /* the middleware after the one deciding */
    sio_held *held;               /* the restored session, NULL when none */
};

struct sio_client {
    sio_server *srv;
    eio_session *conn;
    sio_socket *sockets;
    sio_socket *connecting;       /* suspended by a middleware (linked by client_next) */
    deadline_entry connect_timer;
    /* a binary packet being reassembled */
    sio_packet pending;
    int has_pending;
    frame **attachments;
    uint32_t n_attachments;
    sio_restore_req *restores;    /* CONNECTs waiting for their store */
    uint8_t plain;                /* a plain WebSocket client (sio_plain.c) */
    uint8_t v2;                   /* a Socket.IO v2 client over Engine.IO v3 (sio_v2.c) */
    uint8_t msgpack;              /* speaks socket.io-msgpack-parser (sio_msgpack_client.c) */
    uint8_t parser_decided;       /* msgpack is decided (at the first message) */
    double tokens;                /* EVENT_RATE bucket: every packet takes one */
    uint64_t refilled_ms;
};

struct sio_server {
    uv_loop_t *loop;
    sio_config cfg;
    eio_server *engine;
    hashmap namespaces;           /* name -> sio_namespace (exact and children) */
    hashmap by_id;                /* id (8 bytes) -> registered sio_namespace */
    hashmap pending;              /* name -> child namespace not admitted yet */
    hashmap connects;             /* token -> socket suspended by a middleware */
    uint64_t next_connect_token;
    uint64_t next_nsp_id;
    sio_namespace **reap;         /* empty children to free at the next turn */
    size_t n_reap, cap_reap;
    uv_timer_t reaper;
    sio_namespace *patterns;
    sio_adapter adapter;          /* zeroed: none */
    deadline_list connect_due;   /* delay: connect timeout */
    deadline_timer timer;
    size_t socket_count;
    uint64_t rate_limited;
    sio_recovery_store store;     /* zeroed: none (recovery off) */
    plain_fields plain;           /* field names of plain clients' messages */
    sio_socket *dirty;            /* sockets whose session changed this turn */
    json_t *no_auth;              /* {}: the auth of every client that sent none, shared */
    uv_timer_t dirty_flush;
    int closing_handles;
};

/* sio_server.c */
/* A CONNECT of the client: namespace, recovery, middlewares. */
void sio_client_connect(sio_client *c, sio_packet *p);
/* One complete packet of the client (`p` and `att` borrowed). */
void sio_client_dispatch(sio_client *c, sio_packet *p, frame **att, uint32_t n_att);

/* sio_plain.c: plain WebSocket clients, one socket each */
/* A new plain client: connects it to plain_namespace (input held until admitted). */
void sio_plain_open(sio_client *c);
/* One WebSocket message of a plain client. */
void sio_plain_message(sio_client *c, const eio_packet *ep);
/* sio_outpacket_send() for a plain session. */
int sio_plain_send(sio_outpacket *p, eio_session *s, int is_volatile);
/* Closes a plain client with WebSocket close `code` and `text`. */
void sio_plain_end(sio_client *c, uint16_t code, const char *text, const char *reason);
/* The socket was admitted: the client is read from now on. */
void sio_plain_admitted(sio_socket *s);

/* sio_v2.c: Socket.IO v2 clients (Engine.IO v3 sessions) */
/* The session opened: connects "/" with the handshake query (minus EIO,
 * transport, t, sid, b64) as auth. */
void sio_v2_open(sio_client *c);
/* A v2 client's packet: "/nsp?query" becomes "/nsp" and, for CONNECT, the
 * query (URL-decoded) its auth. 0, or -1 out of memory. */
int sio_v2_packet(sio_packet *p);
/* The URL query [q, q+len) as a JSON object of strings (a later name wins);
 * with skip_engine, without Engine.IO's parameters. NULL out of memory. */
json_t *sio_v2_query_object(const char *q, size_t len, int skip_engine);
/* The data of a CONNECT_ERROR to a v2 client: `data` when set, else the
 * message as a JSON string (new reference). */
json_t *sio_v2_connect_error(const char *message, json_t *data);
/* sio_msgpack_client.c: clients of socket.io-msgpack-parser */
/* 1 when the client speaks msgpack: decided at its first message `ep`
 * (cfg.parser; AUTO: a binary first message), or when a socket is made for
 * it before any (`ep` NULL: AUTO is then the default parser), then kept.
 * Plain and v2 clients never do. */
int sio_client_msgpack(sio_client *c, const eio_packet *ep);
/* One Engine.IO message of a msgpack client: one whole packet. */
void sio_msgpack_message(sio_client *c, const eio_packet *ep);
/* sio_outpacket_send() for a msgpack client's session. */
int sio_msgpack_send(sio_outpacket *p, eio_session *s, int is_volatile);

/* sio_namespace.c */
/* The namespace a CONNECT names: exact, or a child of a matching pattern
 * (pending until sio_namespace_admit), or NULL. */
sio_namespace *sio_namespace_resolve(sio_server *io, const char *name);
/* A socket passed the middlewares: a pending child becomes a namespace. */
int sio_namespace_admit(sio_namespace *nsp);
/* A socket left or was refused: an empty child is freed at the next turn. */
void sio_namespace_release(sio_namespace *nsp);
sio_namespace *sio_namespace_by_id(sio_server *io, uint64_t id);
void sio_namespace_free(sio_namespace *nsp);
void sio_namespace_reap(uv_timer_t *t);
const sio_event_handler *sio_namespace_handler(const sio_namespace *nsp, const char *event);
/* Queues an encoded packet's frames on a session, by reference. With
 * `is_volatile`, only when the transport can take it now. 0 sent, 1 dropped
 * (volatile), -1 session gone or slow. */
int sio_outpacket_send(sio_outpacket *p, eio_session *s, int is_volatile);
/* The same when the caller knows whether the session's client speaks msgpack. */
int sio_outpacket_send_to(sio_outpacket *p, eio_session *s, int msgpack, int is_volatile);
/* The same for any frames (the first one alone decides a volatile send). */
int sio_frames_send(frame *const *frames, uint32_t n, eio_session *s, int is_volatile);
/* The one selection of sockets, for local delivery and for other nodes'
 * requests: calls visit(ctx, s) once for each socket of the union of
 * opts->rooms (every socket when there is none) that is in none of
 * opts->except; returns the sum of what visit returned. visit must not change
 * rooms or sockets (collect, then act). opts NULL: every socket. */
int sio_namespace_select(sio_namespace *nsp, const sio_broadcast_opts *opts,
                         int (*visit)(void *ctx, sio_socket *s), void *ctx);
/* Fans an encoded packet out to the namespace's sockets per opts; returns the count. */
int sio_namespace_deliver(sio_namespace *nsp, const sio_broadcast_opts *opts, sio_outpacket *p);
/* The same for a packet carrying `offset`: a socket whose replay covered it is skipped. */
int sio_namespace_deliver_offset(sio_namespace *nsp, const sio_broadcast_opts *opts,
                                 sio_outpacket *p, const char *offset);
/* A broadcast of `data` from elsewhere (the API) delivered here: recorded by
 * the in-memory store when recoverable, not reported to the adapter. */
int sio_namespace_emit_local(sio_namespace *nsp, const sio_broadcast_opts *opts, const json_t *data);

/* [event, ...args] as a new JSON array, or NULL */
json_t *sio_event_data(const char *event, const sio_args *args);

/* sio_socket.c */
sio_socket *sio_socket_new(sio_namespace *nsp, sio_client *client, json_t *auth);
/* Frees a socket that is in no namespace (refused, abandoned, or closed). */
void sio_socket_free(sio_socket *s);
/* sio_connect.c */
/* Runs middlewares; on success joins the socket's own room (and, restored,
 * its session's rooms, then sends what it missed), answers CONNECT and calls
 * on_connection. Returns 0 connected, -1 refused (socket freed), 1 suspended
 * by an asynchronous middleware (decided later: do not touch the socket). */
int sio_socket_connect(sio_socket *s, const sio_restored *res);
/* 1 when a CONNECT of the client to `nsp` waits for a middleware. */
int sio_connect_pending(const sio_client *c, const char *nsp);
/* The client is closing: its suspended sockets are freed, their tokens stale. */
void sio_connect_abandon(sio_client *c);
/* The socket's rooms as an array (malloc'd; the names are borrowed from the
 * socket until its rooms change); NULL when none or out of memory. */
const char **sio_socket_room_names(const sio_socket *s, size_t *n);
/* Its session changed: reported LIVE to the store at the end of the turn. */
void sio_socket_touch(sio_socket *s);
/* sio_recovery.c */
/* A CONNECT with auth {pid, offset} while recovery is on: 1 when a restore
 * was started (the CONNECT is answered later), 0 to connect as usual. */
int sio_recovery_start(sio_client *c, const char *nsp, json_t *auth);
/* The client is closing: its pending restores will find it gone. */
void sio_recovery_forget(sio_client *c);
void sio_recovery_flush(uv_timer_t *t);
void sio_recovery_unlist(sio_socket *s);
void sio_socket_on_packet(sio_socket *s, sio_packet *p, frame **attachments, uint32_t n_att);
/* Removes the socket from its namespace and client and frees it. */
void sio_socket_close(sio_socket *s, const char *reason);
/* Registers an ack callback for packet id `id` already sent to `s` (used for
 * broadcasts with ack, whose ids come from the cluster thread's own range). */
int sio_socket_expect_ack(sio_socket *s, int64_t id, uint32_t timeout_ms, sio_ack_fn fn, void *ud);
int sio_socket_send_packet(sio_socket *s, sio_packet_type type, int64_t id, const json_t *data,
                           const sio_bin *bins, size_t n_bins);
void sio_generate_id(char out[SIO_ID_LEN + 1]);



#endif
