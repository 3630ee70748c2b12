/* sio.h: the public C API to embed a Socket.IO v5 server.
 *
 * Everything runs on the edge thread (the libuv loop passed to sio_server_new);
 * no function here may be called from another thread. Typical use:
 *
 *     sio_server *io = sio_server_new(loop, &cfg);
 *     sio_namespace *chat = sio_of(io, "/");
 *     sio_on_connection(chat, on_connect, app);
 *     sio_on(chat, "message", on_message, app);
 *     edge *e = edge_new(loop, &(edge_config){.port = 3000});
 *     eio_server_mount(sio_server_engine(io), e);
 *
 * Ownership: the server owns namespaces and sockets. A sio_socket pointer is
 * valid from its connection callback until its disconnect callback returns;
 * to answer or reach a socket later, keep its id (sio_socket_find) or an
 * sio_ack_handle (plain data). Arguments (sio_args, JSON, binaries) passed to
 * callbacks are borrowed for the call; those passed in are borrowed too: the
 * library encodes them once before returning. Binary arguments appear in the
 * JSON as placeholders {"_placeholder":true,"num":i} for bins[i]. */
#ifndef SIO_SIO_H
#define SIO_SIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

/* The rest of the public API: Engine.IO options and request info (sio_engine.h),
 * the listening edge (sio_edge.h). Public headers include only system and
 * third-party headers and each other. */
#include "sio_edge.h"
#include "sio_engine.h"
#include "sio_export.h"

struct sio_outpacket;

typedef struct sio_server sio_server;
typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;

#ifndef SIO_BIN_DEFINED
#define SIO_BIN_DEFINED
typedef struct sio_bin {
    const void *data;
    size_t len;
} sio_bin;
#endif

/* The arguments of an event or an ack: a JSON array (NULL = none) plus the
 * binary attachments its placeholders refer to. */
typedef struct sio_args {
    json_t *json;
    const sio_bin *bins;
    size_t n_bins;
} sio_args;

/* Everything needed to answer a client's ack later, by value (it stays safe
 * to use after the socket, or its namespace, is gone: sio_ack then fails). */
typedef struct sio_ack_handle {
    char socket_id[24];
    uint64_t nsp_id;
    int64_t id;
} sio_ack_handle;

typedef enum sio_parser {
    SIO_PARSER_DEFAULT = 0, /* socket.io-parser: text packets, binary attachments */
    SIO_PARSER_MSGPACK = 1, /* socket.io-msgpack-parser: one msgpack binary message per packet */
    SIO_PARSER_AUTO = 2     /* per connection: msgpack when its first packet is binary */
} sio_parser;

typedef struct sio_config {
    eio_config engine;            /* path defaults to "/socket.io/" */
    uint32_t connect_timeout_ms;  /* 45000: close clients that join no namespace */
    uint32_t max_attachments;     /* 10: binary attachments per packet */
    double event_rate;            /* 0: unlimited; packets per second per connection */
    uint32_t event_burst;         /* bucket size; 0: max(1, event_rate) */
    /* Connection state recovery (socket.io's connectionStateRecovery): how
     * long a disconnected socket's session is kept (maxDisconnectionDuration);
     * 0, the default as in socket.io: off. The in-memory history keeps at
     * most recovery_max_packets broadcasts and recovery_max_bytes of them. */
    uint32_t recovery_window_ms;
    uint32_t recovery_max_packets; /* 150000: 1,000 broadcasts/s over 120 s, and some */
    size_t recovery_max_bytes;     /* 64 MiB */
    /* Plain WebSocket clients (engine.plain_path set): each is a socket of
     * plain_namespace, admitted by its middlewares with the query string as
     * auth; its JSON messages use these field names (README "Plain
     * WebSocket clients"). */
    const char *plain_namespace;    /* "/" */
    const char *plain_event_field;  /* "event" */
    const char *plain_data_field;   /* "data" */
    const char *plain_id_field;     /* "id" */
    const char *plain_binary_event; /* "binary": the event a binary message is */
    /* The Socket.IO packet encoding (socket.io's `parser` option): the
     * default text parser, socket.io-msgpack-parser, or either, chosen by
     * each connection's first packet. */
    sio_parser parser;              /* SIO_PARSER_DEFAULT */
} sio_config;

SIO_API void sio_config_defaults(sio_config *c);

typedef void (*sio_connection_fn)(sio_socket *s, void *ud);
/* `ack` is NULL when the client asked for none. */
typedef void (*sio_event_fn)(sio_socket *s, const char *event, const sio_args *args,
                             const sio_ack_handle *ack, void *ud);
/* Reasons as socket.io names them: "client namespace disconnect", "server
 * namespace disconnect", "transport close", "transport error", "ping timeout",
 * "parse error", "forced close", "forced server close", "server shutting down",
 * and sio's own "slow consumer" (send queue overflow) and "rate limit". */
typedef void (*sio_disconnect_fn)(sio_socket *s, const char *reason, void *ud);
/* Return 0 to accept. To refuse, return -1 with *message (static, or valid until
 * the next call) and optionally *data (a new JSON reference, taken over). The
 * client receives CONNECT_ERROR {"message":...,"data":...}. */
typedef int (*sio_middleware_fn)(sio_socket *s, json_t *auth, const char **message,
                                 json_t **data, void *ud);
/* An asynchronous middleware decides later, with sio_connect_decide(h, ...),
 * from any callback of the loop (or at once). Until then the socket waits
 * outside its namespace: no rooms, events or broadcasts; a second CONNECT of
 * the client to the namespace is ignored. The handle is plain data: when the
 * client goes away first, the socket is freed (no disconnect callback: it
 * never connected) and the handle goes stale. Whatever the middleware keeps
 * for the socket, it finds again with sio_connect_socket(). */
typedef struct sio_connect_handle {
    uint64_t token;
} sio_connect_handle;
typedef void (*sio_async_middleware_fn)(sio_socket *s, json_t *auth, sio_connect_handle h,
                                        void *ud);
/* `s` is NULL when the socket went away; `timed_out` is 1 on timeout or
 * disconnect, and `args` is then NULL. */
typedef void (*sio_ack_fn)(sio_socket *s, int timed_out, const sio_args *args, void *ud);

SIO_API sio_server *sio_server_new(uv_loop_t *loop, const sio_config *cfg);
/* Disconnects everyone ("server shutting down") and frees. */
SIO_API void sio_server_free(sio_server *io);
SIO_API eio_server *sio_server_engine(sio_server *io);
SIO_API size_t sio_server_socket_count(const sio_server *io);
/* Connections closed for exceeding event_rate ("rate limit"). */
SIO_API uint64_t sio_server_rate_limited(const sio_server *io);

/* A namespace by name ("/chat"), created on first use; a name with '*' or '?' is
 * a pattern: clients may connect to any matching name, each becoming a child
 * namespace that uses the pattern's handlers and middlewares. A child exists
 * from its first admitted socket (middlewares run before it is created, so a
 * refused client never creates one) and is freed, soon after, once its last
 * socket left (as socket.io's cleanupEmptyChildNamespaces). Do not keep a
 * child's pointer across loop turns: look it up by name. */
SIO_API sio_namespace *sio_of(sio_server *io, const char *name);
/* An existing namespace (exact or a dynamic child), else NULL. */
SIO_API sio_namespace *sio_find_namespace(sio_server *io, const char *name);
SIO_API const char *sio_namespace_name(const sio_namespace *nsp);
SIO_API size_t sio_namespace_socket_count(const sio_namespace *nsp);

SIO_API void sio_on_connection(sio_namespace *nsp, sio_connection_fn fn, void *ud);
SIO_API int sio_on(sio_namespace *nsp, const char *event, sio_event_fn fn, void *ud);
SIO_API void sio_on_any(sio_namespace *nsp, sio_event_fn fn, void *ud); /* events with no handler */
SIO_API void sio_on_disconnect(sio_namespace *nsp, sio_disconnect_fn fn, void *ud);
SIO_API int sio_use(sio_namespace *nsp, sio_middleware_fn fn, void *ud);
SIO_API int sio_use_async(sio_namespace *nsp, sio_async_middleware_fn fn, void *ud);
/* An asynchronous middleware's decision: `accept` runs the next middleware
 * (and connects after the last); else the client gets CONNECT_ERROR with
 * `message` (copied; NULL: "unauthorized") and `data` (a new reference, taken
 * over; may be NULL). 0, or -1 when the handle is stale (`data` released). */
SIO_API int sio_connect_decide(sio_server *io, sio_connect_handle h, int accept,
                               const char *message, json_t *data);
/* The socket waiting on `h`, or NULL once the handle is stale. */
SIO_API sio_socket *sio_connect_socket(sio_server *io, sio_connect_handle h);

/* 0, or -1 when the socket is gone or the packet could not be encoded. */
SIO_API int sio_emit(sio_socket *s, const char *event, const sio_args *args);
SIO_API int sio_emit_with_ack(sio_socket *s, const char *event, const sio_args *args,
                              uint32_t timeout_ms, sio_ack_fn fn, void *ud);
SIO_API int sio_ack(sio_server *io, const sio_ack_handle *ack, const sio_args *args);

typedef struct sio_broadcast_opts {
    const char *const *rooms;  /* union of these rooms; none = every socket */
    size_t n_rooms;
    const char *const *except; /* minus every socket in any of these rooms */
    size_t n_except;
    int is_volatile;           /* skip sockets that cannot take it right now */
} sio_broadcast_opts;

/* Delivers to this node's sockets; returns how many received it, or -1. (With a
 * cluster adapter attached it is also published to the other nodes.) */
SIO_API int sio_broadcast(sio_namespace *nsp, const sio_broadcast_opts *opts, const char *event,
                          const sio_args *args);

SIO_API int sio_join(sio_socket *s, const char *room);  /* 0, or -1 (no memory) */
SIO_API int sio_leave(sio_socket *s, const char *room);
/* Disconnects from the namespace ("server namespace disconnect"); with
 * `close_transport`, ends the whole connection. */
SIO_API void sio_disconnect(sio_socket *s, int close_transport);

/* A cluster adapter: told of what other nodes need to know, on the edge thread.
 * `broadcast` receives every broadcast made on this node (C API, client publish)
 * after local delivery, with its packet already encoded (borrowed, valid for
 * the call only: outside this tree it is opaque; an adapter that keeps it
 * needs the in-tree sio_outpacket.h). Broadcasts that came from the cluster are not reported back. */
typedef struct sio_adapter {
    void *ctx;
    void (*namespace_created)(void *ctx, sio_namespace *nsp);
    /* An empty dynamic child is about to be freed (its rooms are gone already). */
    void (*namespace_deleted)(void *ctx, sio_namespace *nsp);
    void (*room_changed)(void *ctx, sio_namespace *nsp, const char *room, int created);
    void (*broadcast)(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                      struct sio_outpacket *packet);
    /* Optional, called instead of `broadcast` when set: the same, with the
     * packet's data too ([event, ...args], binary values as placeholders for
     * the packet's binary frames; borrowed), so the adapter need not decode
     * the encoded packet to publish it in another format. */
    void (*broadcast_data)(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                           const json_t *data, struct sio_outpacket *packet);
} sio_adapter;

/* Attaches an adapter (NULL detaches); it hears of namespaces and rooms that
 * already exist at once. */
SIO_API void sio_server_set_adapter(sio_server *io, const sio_adapter *adapter);

/* Every namespace (exact and dynamic children), for adapters and requests. */
SIO_API sio_namespace *sio_namespace_next(sio_server *io, size_t *iter);

SIO_API const char *sio_socket_id(const sio_socket *s);
SIO_API sio_namespace *sio_socket_namespace(const sio_socket *s);
SIO_API sio_socket *sio_socket_find(sio_namespace *nsp, const char *id);
/* Borrowed: the CONNECT payload, or {} when none (one object shared by every
 * such socket: read it, do not change it). */
SIO_API json_t *sio_socket_auth(const sio_socket *s);
SIO_API const eio_request_info *sio_socket_request(const sio_socket *s);
/* 1 when the socket is a plain WebSocket client (eio_config.plain_path). */
SIO_API int sio_socket_plain(const sio_socket *s);
/* Ends the socket's connection once what was sent to it is out: a plain
 * client sees WebSocket close `code` with `reason`; a Socket.IO client
 * the same as sio_disconnect(s, 1). */
SIO_API void sio_socket_end(sio_socket *s, uint16_t code, const char *reason);
SIO_API void sio_socket_set_user(sio_socket *s, void *user);
SIO_API void *sio_socket_user(const sio_socket *s);
/* Iterates the socket's rooms, O(1) a step:
 *     const void *it = NULL; const char *name;
 *     while ((name = sio_socket_room_next(s, &it))) ... */
SIO_API const char *sio_socket_room_next(const sio_socket *s, const void **it);
SIO_API size_t sio_socket_room_count(const sio_socket *s); /* its own room included */
SIO_API int sio_socket_in_room(const sio_socket *s, const char *name);
/* 1 when the socket is a recovered session (its id, rooms and data came back
 * and it was sent the broadcasts it missed), as socket.recovered. */
SIO_API int sio_socket_recovered(const sio_socket *s);
/* socket.data: a JSON object, borrowed (never NULL), restored with the
 * session. After changing it in place, call sio_socket_set_data(s, NULL) so
 * that a cluster store keeps the session current; a non-NULL value replaces
 * it (the reference is taken over). */
SIO_API json_t *sio_socket_data(const sio_socket *s);
/* 1 when socket.data holds a key (reading it does not make it exist). */
SIO_API int sio_socket_has_data(const sio_socket *s);
SIO_API void sio_socket_set_data(sio_socket *s, json_t *data);

#endif
