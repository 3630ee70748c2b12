/* sio_engine.h: the Engine.IO part of the public C API (see sio.h).
 *
 * The Engine.IO options embedded in sio_config, the handshake request as
 * sio_socket_request() shows it, and the one call an embedder needs on the
 * Engine.IO server of a sio_server: eio_server_mount(), which routes the
 * configured path of a listening edge (sio_edge.h) to it. The rest of the
 * Engine.IO layer (sessions, transports, counters) is internal to the library.
 * Part of the installed, public header set: it includes only system headers
 * and other public sio headers. */
#ifndef SIO_SIO_ENGINE_H
#define SIO_SIO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sio_export.h"

#define EIO_TRANSPORT_POLLING 1u
#define EIO_TRANSPORT_WEBSOCKET 2u
/* A plain WebSocket client (eio_config.plain_path): no Engine.IO framing. */
#define EIO_TRANSPORT_PLAIN 4u

/* Engine.IO server options, with the defaults of npm engine.io 6.x (plus sio's
 * own bounds on send queues). Plain data, owned by whoever embeds it. */
typedef struct eio_config {
    const char *path;            /* "/engine.io/" */
    uint32_t ping_interval_ms;   /* 25000 */
    uint32_t ping_timeout_ms;    /* 20000 */
    uint32_t upgrade_timeout_ms; /* 10000 */
    size_t max_payload;          /* 1000000 (maxHttpBufferSize) */
    unsigned transports;         /* EIO_TRANSPORT_* bits; both */
    int allow_upgrades;          /* 1 */
    /* CORS: NULL = no CORS headers; "*" = any origin; else a comma-separated
     * list of origins that are echoed with Allow-Credentials (others get 403). */
    const char *cors_origins;
    const char *cookie_name;     /* NULL = no cookie; "io" for ALB stickiness */
    uint32_t max_queue_frames;   /* per-session send queue bound: 4096 */
    size_t max_queue_bytes;      /* 4 MiB */
    uint32_t max_sessions;       /* 0: unlimited; handshakes beyond get 503 */
    uint32_t max_sessions_per_ip;/* 0: unlimited; by remote address (see eio_request_info) */
    int keep_headers;            /* 0: eio_request_info.headers is "" (it costs memory per session) */
    /* NULL: off. Else the exact path (e.g. "/ws") where plain WebSocket
     * clients connect: each WebSocket message is one MESSAGE of the session
     * (no Engine.IO packets), heartbeats are WebSocket ping frames, the same
     * limits, queues and drain apply. */
    const char *plain_path;
    /* WebSocket permessage-deflate (RFC 7692), as npm ws negotiates it: 0,
     * the default as in engine.io, declines the extension. When on, messages
     * of at least deflate_threshold bytes (1024) are compressed. */
    int per_message_deflate;
    size_t deflate_threshold;
    /* Long-polling responses of at least http_compression_threshold bytes
     * (1024) are gzip- or deflate-encoded per Accept-Encoding: on (1) by
     * default, as engine.io's httpCompression. */
    int http_compression;
    size_t http_compression_threshold;
    /* Engine.IO v3 clients (socket.io-client 2.x) beside v4: 0, as engine.io's allowEIO3. */
    int allow_eio3;
} eio_config;

SIO_API void eio_config_defaults(eio_config *c);

/* An Engine.IO server (opaque): the one of a sio_server is sio_server_engine(). */
typedef struct eio_server eio_server;

/* What the upper layer may want to know of the handshake request. */
typedef struct eio_request_info {
    const char *remote_addr;   /* the LAST hop of the last X-Forwarded-For line (the one the
                                * load balancer appended; earlier hops can be forged), else the
                                * TCP peer */
    const char *query;         /* raw query string of the handshake */
    const char *user_agent;    /* "" when absent */
    const char *origin;
    const char *authorization; /* Authorization header, "" when absent */
    const char *cookie;        /* Cookie header, "" when absent */
    const char *url;           /* path + query */
    const char *headers;       /* with keep_headers, every header: "name: value\n" lines, names
                                * in lower case; else "" */
    int64_t issued_ms;         /* wall clock at handshake */
} eio_request_info;

/* Routes the config's path (and plain_path, when set) on `e` (sio_edge.h) to this server. */
struct edge;
SIO_API int eio_server_mount(eio_server *srv, struct edge *e);

#endif
