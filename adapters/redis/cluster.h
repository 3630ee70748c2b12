/* cluster: the cluster thread. It owns a libevent loop, the internal HTTP API
 * (broadcast, health, metrics) and, with REDIS_URL, every Redis connection. It
 * talks to the edge only through mailboxes: it pushes pre-encoded broadcasts
 * into the edge's inbox, and reads its own inbox (messages the edge publishes).
 *
 * cluster_start() spawns the thread; cluster_stop() asks it to finish, joins it
 * and frees everything it owned. Nothing in here runs on the edge thread except
 * those two calls and pushes into cluster_inbox(). */
#ifndef SIO_CLUSTER_H
#define SIO_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "edge_stats.h"
#include "mailbox.h"

typedef struct cluster cluster;

typedef struct cluster_config {
    const char *api_bind;           /* NULL: 0.0.0.0 */
    int api_port;                   /* 0: no API */
    const char *api_token;          /* NULL: no Authorization required */
    size_t api_max_body;
    uint32_t api_request_timeout_ms; /* GET /v1/sockets, /v1/rooms wait this long (0: 5000) */
    const char *const *namespaces;  /* configured names/patterns (NULL-terminated) */
    const char *node_id;
    const char *redis_url;          /* NULL: standalone */
    const char *redis_prefix;
    const char *redis_ca_file;
    const char *redis_sni;
    int redis_pattern_mode;
    int health_redis_down_status;   /* /health status while Redis is down (200), both ports */
    mailbox_limits inbox;           /* bounds of the cluster thread's inbox */
    uint32_t recovery_window_ms;    /* 0: recovery off; else history and sessions in Redis */
    size_t redis_buffer_max_messages; /* broadcasts kept while Redis is down */
    size_t redis_buffer_max_bytes;
    int redis_streams;              /* REDIS_ADAPTER=streams */
    size_t redis_stream_maxlen;
    int redis_sharded;              /* REDIS_ADAPTER=sharded */
    int redis_sharded_mode;         /* 0 dynamic, 1 static, 2 dynamic-private */
    int redis_cluster;              /* REDIS_CLUSTER */
    const char *redis_cluster_seeds;
    /* the application backend (backend_proxy.h); all NULL: none */
    const char *connect_proxy_url;
    const char *event_proxy_url;
    const char *event_stream;
    uint32_t event_stream_maxlen;
    uint32_t proxy_timeout_ms;
    uint32_t proxy_max_inflight, proxy_max_queued;
    size_t proxy_max_response_bytes;
    const char *proxy_ca_file;
    uint32_t max_rooms_per_socket;
    /* METRICS_EMF (cluster_emf.h): 0 off */
    int metrics_emf;
    uint32_t metrics_emf_interval_ms;
    const char *metrics_emf_namespace, *metrics_emf_cluster, *metrics_emf_service;
    /* the ECS task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4), NULL: not
     * watched; when the task is stopping the edge is told (MSG_DRAIN) */
    const char *ecs_metadata_uri;
    uint32_t ecs_metadata_poll_ms;
} cluster_config;

/* `to_edge` and `stats` must outlive the cluster. Returns NULL with a message
 * logged (log.h) when the API port cannot be bound or REDIS_URL is invalid. With a
 * Redis URL, the edge must report to cluster_inbox() (cluster_bridge_attach). */
cluster *cluster_start(const cluster_config *cfg, mailbox *to_edge, edge_stats *stats);
mailbox *cluster_inbox(cluster *c);
int cluster_api_port(const cluster *c);
void cluster_stop(cluster *c);

#endif
