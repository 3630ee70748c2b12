/* gateway: the sio-server application on top of the public C API.
 *
 * Configures the Socket.IO server from gateway_config: the namespaces, a JWT
 * middleware (when a key is configured) whose `rooms` / `publish` claims replace
 * SUBSCRIBE_PATTERNS / PUBLISH_PATTERNS for that client, and the client events
 * `subscribe`, `unsubscribe` and `publish`. Also answers GET /health on the
 * edge port (PORT): {"status","connections","sockets"}, 200 "ok" or 503
 * "draining", never looking at Redis (HEALTH_REDIS_DOWN_STATUS is the API
 * port's, api_http.c); and refreshes every 200 ms the edge_stats the cluster
 * thread reports. */
#ifndef SIO_GATEWAY_H
#define SIO_GATEWAY_H

#include <stddef.h>

#include <uv.h>

#include "edge_stats.h"
#include "eio_server.h" /* the drain of gateway_io()'s engine (app/main.c) */
#include "gateway_config.h"
#include "http1.h"
#include "sio.h"

typedef struct gateway gateway;

/* NULL with *err set on failure; a JWT key that cannot be used is reported by
 * returning NULL with *config_error set to the variable's name. */
gateway *gateway_new(uv_loop_t *loop, const gateway_config *cfg, edge_stats *stats,
                     const char **err, const char **config_error);
sio_server *gateway_io(gateway *g);
/* The handler of the edge's requests outside the Socket.IO path (GET /health). */
const http_handler *gateway_http(gateway *g);
/* How a `subscribe` waits until the cluster's subscriptions are active:
 * fn(ctx, done, ud) calls done(ud) then (cluster_bridge_barrier). */
typedef void (*gateway_barrier_fn)(void *ctx, void (*done)(void *ud), void *ud);
void gateway_set_barrier(gateway *g, gateway_barrier_fn fn, void *ctx);
/* The application backend's link (README "Backends"): requests go out with
 * send(ctx, msg) (cluster_bridge_send); answers come back to
 * gateway_on_backend_answer (cluster_bridge_on_backend). */
struct cluster_msg;
struct backend_msg;
void gateway_set_backend_link(gateway *g, int (*send)(void *ctx, struct cluster_msg *m), void *ctx);
void gateway_on_backend_answer(void *gw, struct backend_msg *m);
void gateway_free(gateway *g);

#endif
