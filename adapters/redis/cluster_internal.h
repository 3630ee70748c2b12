/* cluster_internal: the cluster thread's state, shared by its modules
 * (cluster.c: thread and loop; api_http.c: the internal HTTP API). Only the
 * cluster thread touches it. */
#ifndef SIO_CLUSTER_INTERNAL_H
#define SIO_CLUSTER_INTERNAL_H

#include <pthread.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "backend_proxy.h"
#include "cluster.h"
#include "redis_adapter.h"

struct cluster {
    cluster_config cfg;
    struct event_base *base;
    struct evhttp *http;
    int api_port;
    struct event *inbox_event;
    struct event *stop_event;
    unsigned stop_polls;  /* 10 ms waits for Redis to settle at stop */
    mailbox inbox;        /* from the edge */
    mailbox *to_edge;
    edge_stats *stats;
    pthread_t thread;
    redis_adapter *redis;  /* NULL: standalone */
    backend_proxy *backend; /* NULL: no application backend */
    /* /metrics scrapes waiting for the edge's part */
    struct pending_scrape *scrapes;
    uint64_t next_token;
    /* counters of the cluster thread (read by /metrics on this thread) */
    unsigned long api_broadcasts;
    unsigned long api_overloaded;
    unsigned long api_errors;
};

/* api_http.c */
/* The edge's part of a scrape arrived (MSG_METRICS): answer it. */
void api_metrics_reply(cluster *c, uint64_t token, const uint8_t *text, size_t len);
int api_http_start(cluster *c);
void api_http_stop(cluster *c);

#endif
