/* cluster_internal: the cluster thread's state, shared by its modules
 * (cluster.c: thread and loop; api_http.c: the internal HTTP API;
 * api_sockets.c + api_query.c: its socket management). Only the cluster
 * thread touches it. */
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
    struct event *stats_timer; /* cluster_publish_stats every 200 ms */
    struct cluster_emf *emf;   /* METRICS_EMF lines, NULL: off */
    struct ecs_watch *ecs;     /* the ECS task metadata, NULL: not on ECS */
    unsigned stop_polls;  /* 10 ms waits for Redis to settle at stop */
    mailbox inbox;        /* from the edge */
    mailbox *to_edge;
    edge_stats *stats;
    pthread_t thread;
    redis_adapter *redis;  /* NULL: standalone */
    backend_proxy *backend; /* NULL: no application backend */
    /* /metrics scrapes waiting for the edge's part */
    struct pending_scrape *scrapes;
    /* GET /v1/sockets and /v1/rooms waiting for the nodes' answers (api_query.c) */
    struct api_query *queries;
    size_t n_queries;
    uint64_t next_token;
    /* counters of the cluster thread (read by /metrics on this thread) */
    unsigned long api_broadcasts;
    unsigned long api_overloaded;
    unsigned long api_errors;
};

/* cluster.c: writes the cluster thread's fields of edge_stats (Redis state
 * and counters); also on a 200 ms timer. */
void cluster_publish_stats(cluster *c);

/* api_http.c */
/* A JSON answer (takes `body`); {"ok":false,"error":message}; 503 with
 * Retry-After and `accepted`; 1 when the request carries API_TOKEN (or none is set). */
void api_reply_json(struct evhttp_request *req, int status, const char *reason, json_t *body);
void api_reply_error(cluster *c, struct evhttp_request *req, int status, const char *reason,
                     const char *message);
void api_reply_overloaded(cluster *c, struct evhttp_request *req, size_t accepted, const char *why);
int api_authorized(cluster *c, struct evhttp_request *req);
/* The edge's part of a scrape arrived (MSG_METRICS): answer it. */
void api_metrics_reply(cluster *c, uint64_t token, const uint8_t *text, size_t len);
int api_http_start(cluster *c);
void api_http_stop(cluster *c);

/* api_sockets.c: POST /v1/sockets/{join,leave,disconnect}, GET /v1/sockets, /v1/rooms */
void api_sockets_register(cluster *c);

/* api_query.c: the GETs' gathering of every node's answer */
typedef struct api_selection api_selection;
/* Asks the own edge and (with Redis) every other node; answers `req` when all
 * have answered or API_REQUEST_TIMEOUT_MS passed. kind: CLUSTER_REQ_FETCH or
 * CLUSTER_REQ_ALL_ROOMS. */
void api_query_start(cluster *c, struct evhttp_request *req, int kind, const api_selection *sel);
/* A request of the socket API that could not start (a negative errno): 501
 * (-ENOTSUP: the adapter speaks no such request), 500 (-ENOMEM), else 503. */
void api_reply_refused(cluster *c, struct evhttp_request *req, int rc);
/* The edge's reply (MSG_REPLY) to one of them: 1 when it was (and is used). */
int api_query_local_reply(cluster *c, const reply_msg *m);
/* The adapter's hooks (redis_adapter_set_query_hooks). */
void api_query_hooks(cluster *c, redis_query_hooks *h);
/* Ends every query unanswered (the thread stops). */
void api_query_stop(cluster *c);

#endif
