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
/* edge, edge_config, edge_new(), edge_port(), edge_connection_count() and
 * edge_destroy() are part of the public C API: declared in sio_edge.h. */
#include "sio_edge.h"

/* Routes requests whose path starts with `prefix` to `h` (borrowed; up to 4). */
int edge_mount(edge *e, const char *prefix, const http_handler *h);
void edge_set_fallback(edge *e, const http_handler *h);

#endif
