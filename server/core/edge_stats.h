/* edge_stats: gauges and counters the edge thread publishes for the cluster
 * thread's /health and /metrics. The edge is the only writer; readers on the
 * other thread load them atomically (relaxed: a scrape needs no ordering).
 * This struct is the one piece of memory both threads touch outside a mailbox,
 * and it holds plain numbers only. */
#ifndef SIO_EDGE_STATS_H
#define SIO_EDGE_STATS_H

#include <stdatomic.h>

typedef struct edge_stats {
    atomic_ulong connections;      /* Engine.IO sessions */
    atomic_ulong sockets;          /* Socket.IO sockets (all namespaces) */
    atomic_ulong broadcasts_in;    /* broadcast messages received from the cluster thread */
    atomic_ulong deliveries;       /* packets queued to sockets by broadcasts */
    atomic_int draining;           /* 1 once SIGTERM started the drain */
} edge_stats;

#define EDGE_STAT_ADD(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)
#define EDGE_STAT_SET(s, field, v) atomic_store_explicit(&(s)->field, (v), memory_order_relaxed)
#define EDGE_STAT_GET(s, field) atomic_load_explicit(&(s)->field, memory_order_relaxed)

#endif
