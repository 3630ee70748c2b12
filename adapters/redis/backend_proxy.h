/* backend_proxy: the cluster thread's side of the application backend (README
 * "Backends"). It takes the edge's MSG_BACKEND requests and either POSTs them
 * (http_client: CONNECT_PROXY_URL for connect / refresh, EVENT_PROXY_URL for
 * the rest) or, with EVENT_STREAM, XADDs them to a Redis stream (connects
 * still go to CONNECT_PROXY_URL); each request with a token is answered with
 * one MSG_BACKEND_DONE: the checked answer (backend_wire.c) or an error. It
 * also hands serverSideEmits from other nodes to the backend
 * (backend_proxy_server_side_emit), whose ack becomes the reply.
 *
 * Ownership: the proxy owns its http_client; `to_edge` and `redis` (NULL when
 * standalone) are borrowed and outlive it. Cluster thread only. */
#ifndef SIO_BACKEND_PROXY_H
#define SIO_BACKEND_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "cluster_msg.h"
#include "mailbox.h"
#include "redis_adapter.h"

typedef struct backend_proxy backend_proxy;

typedef struct backend_proxy_config {
    const char *connect_url;      /* NULL: none */
    const char *event_url;        /* NULL: none */
    const char *stream;           /* EVENT_STREAM key, NULL: none */
    uint32_t stream_maxlen;
    uint32_t timeout_ms;
    uint32_t max_inflight, max_queued;
    size_t max_response_bytes;
    const char *ca_file;
    const char *node_id;
    size_t max_rooms;             /* rooms a connect answer may list (MAX_ROOMS_PER_SOCKET) */
} backend_proxy_config;

typedef struct backend_proxy_stats {
    uint64_t requests, answered, failed, streamed;
} backend_proxy_stats;

/* NULL when out of memory, or when nothing is configured (not an error). */
backend_proxy *backend_proxy_new(struct event_base *base, const backend_proxy_config *cfg,
                                 mailbox *to_edge, redis_adapter *redis);
void backend_proxy_free(backend_proxy *p);
void backend_proxy_on_edge(backend_proxy *p, backend_msg *m);
/* A serverSideEmit ([event, ...args]) from another node: POSTed as
 * server_side_emit; done(ud, ack) gets the backend's ack array (borrowed) or
 * NULL on failure. 0, or -1 when there is no event backend (done not called). */
int backend_proxy_server_side_emit(backend_proxy *p, const char *nsp, json_t *data,
                                   void (*done)(void *ud, json_t *ack), void *ud);
const backend_proxy_stats *backend_proxy_get_stats(const backend_proxy *p);
/* Its HTTP client's counters, NULL when it has none (EVENT_STREAM only). */
struct http_client_stats;
const struct http_client_stats *backend_proxy_http_stats(const backend_proxy *p);

#endif
