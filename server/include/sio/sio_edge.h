/* sio_edge.h: the listening socket of the public C API (see sio.h).
 *
 * An edge is the edge thread's TCP listener on the caller's libuv loop; it
 * serves HTTP/1.1 and WebSocket and routes a path prefix to the Engine.IO
 * server mounted there (eio_server_mount(sio_server_engine(io), e), in
 * sio_engine.h); any other path gets 404. Everything runs on that loop.
 *
 * edge_destroy() closes every connection; the loop must then run once more to
 * close the edge's handles. Part of the installed, public header set: it
 * includes only system and libuv headers and other public sio headers. */
#ifndef SIO_SIO_EDGE_H
#define SIO_SIO_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sio_export.h"

typedef struct edge edge;

typedef struct edge_config {
    const char *bind_addr;      /* NULL: all interfaces */
    int port;                   /* 0: any free port (see edge_port) */
    uint32_t max_header_bytes;  /* request line + headers; larger: 431. 0: 16384 */
    uint32_t max_connections;   /* 0: the process's file limit */
    uint32_t header_timeout_ms; /* a request's headers must arrive within; 0: 10000 */
    uint32_t body_timeout_ms;   /* its body within; 0: 60000 */
    uint32_t idle_timeout_ms;   /* keep-alive between requests; 0: 65000 (> an ALB's 60 s) */
    uint32_t max_pending_per_peer; /* connections one peer may have in headers; 0: 64 */
} edge_config;

/* NULL when it cannot listen. */
SIO_API edge *edge_new(uv_loop_t *loop, const edge_config *cfg);
SIO_API int edge_port(const edge *e);
/* Connections open now (every protocol). */
SIO_API size_t edge_connection_count(const edge *e);
SIO_API void edge_destroy(edge *e);

#endif
