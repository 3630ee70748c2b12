/* edge: the edge thread's listening socket and its connections.
 *
 * A libwebsockets context on the caller's libuv loop (lws joins it as a
 * foreign loop) accepts every TCP connection as a raw socket (conn.h); HTTP/1.1
 * is parsed by http-parser (http1.h) and requests are routed by path prefix to
 * the http_handler mounted there (the Engine.IO servers), anything else to the
 * fallback handler (e.g. /health), else 404. The edge also keeps the
 * connections' deadlines and the per-peer count of connections still sending
 * their headers.
 *
 * Ownership: the edge does not own the handlers it routes to. edge_destroy()
 * closes every connection; the loop must then run once more to close the
 * edge's handles. */
#ifndef SIO_NET_EDGE_H
#define SIO_NET_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "http1.h"

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

edge *edge_new(uv_loop_t *loop, const edge_config *cfg);
/* Routes requests whose path starts with `prefix` to `h` (borrowed; up to 4). */
int edge_mount(edge *e, const char *prefix, const http_handler *h);
void edge_set_fallback(edge *e, const http_handler *h);
int edge_port(const edge *e);
/* Connections open now (every protocol). */
size_t edge_connection_count(const edge *e);
void edge_destroy(edge *e);

#endif
