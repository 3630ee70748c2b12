/* edge_internal: the edge's state, shared by edge.c (the lws context, routing,
 * the accept/read/close callbacks) and conn.c (writes, deadlines, the per-peer
 * accounting). Not part of any public API. */
#ifndef SIO_NET_EDGE_INTERNAL_H
#define SIO_NET_EDGE_INTERNAL_H

#include "conn.h"
#include "conn_events.h"
#include "deadline_timer.h"
#include "edge.h"
#include "edge_lws.h"
#include "hashmap.h"

#define EDGE_MAX_MOUNTS 4

typedef struct edge_mount_point {
    const char *prefix;
    size_t len;
    const http_handler *h;
} edge_mount_point;

/* One peer's connections that are still sending request headers. */
typedef struct edge_peer {
    size_t count;
    conn *first, *last;
    char addr[];
} edge_peer;

struct edge {
    uv_loop_t *loop;
    edge_config cfg;
    edge_lws *lws;
    edge_mount_point mounts[EDGE_MAX_MOUNTS];
    int n_mounts;
    const http_handler *fallback;
    deadline_list deadlines[CONN_DL_COUNT];
    deadline_timer timer;
    hashmap peers;          /* address -> edge_peer */
    size_t n_conns;
    uv_check_t defer_check;  /* runs conn_defer() requests */
    conn **deferred;         /* connections whose on_deferred is due */
    size_t n_deferred, cap_deferred;
    int closing_handles;     /* edge_destroy(): libuv handles still closing */
};

/* conn.c */
/* A conn_defer() request (or a kill) falls due. */
void conn_run_deferred(conn *c);
void conn_expire(deadline_entry *entry, void *ctx);
const http_handler *edge_route(void *ctx, const char *path, size_t len);

#endif
