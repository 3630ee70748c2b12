/* edge: the edge thread's libwebsockets context on a libuv loop.
 *
 * Owns the lws context (plain HTTP/1.1 + WebSocket, no permessage-deflate) and
 * routes every request by path prefix to the eio_server mounted there; anything
 * else goes to an optional plain-HTTP handler (e.g. /health), else 404. The
 * loop is the caller's: the edge joins it as a foreign loop and leaves it clean
 * after edge_destroy() once the loop has run the close callbacks. */
#ifndef SIO_EDGE_H
#define SIO_EDGE_H

#include <stddef.h>

#include <libwebsockets.h>
#include <uv.h>

#include "eio_server.h"

typedef struct edge edge;

/* Answers a plain HTTP request not under any mount: returns 1 when it wrote a
 * response (0 < status), 0 to fall through to 404. */
typedef int (*edge_http_fn)(void *ctx, struct lws *wsi, const char *path,
                            unsigned *status, const char **ctype, char *body, size_t *len);

typedef struct edge_config {
    const char *bind_addr; /* NULL: all interfaces */
    int port;
    unsigned max_header_bytes; /* lws max_http_header_data, >= 16384 */
    unsigned max_connections;  /* 0: lws default (process fd limit) */
} edge_config;

edge *edge_new(uv_loop_t *loop, const edge_config *cfg);
/* Mounts `srv` at its config path; the edge does not own it. Up to 4 mounts. */
int edge_mount(edge *e, eio_server *srv);
void edge_set_http_handler(edge *e, edge_http_fn fn, void *ctx);
int edge_port(const edge *e);
void edge_destroy(edge *e);

#endif
