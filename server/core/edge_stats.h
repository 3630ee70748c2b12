/* edge_stats: gauges and counters the two threads publish for each other's
 * /health, /metrics and EMF lines. Each field has ONE writer thread (noted
 * below: most are the edge's, the Redis ones the cluster thread's); readers
 * on the other thread load them atomically (relaxed: a scrape needs no
 * ordering). This struct is the one piece of memory both threads touch
 * outside a mailbox, and it holds plain numbers only. */
#ifndef SIO_EDGE_STATS_H
#define SIO_EDGE_STATS_H

#include <stdatomic.h>

/* Publish-to-delivery latency buckets, upper bounds in seconds; one more
 * bucket holds what is above the last. */
#define EDGE_LATENCY_BOUNDS_S {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
#define EDGE_LATENCY_N 14

enum { STATS_REDIS_NONE = 0, STATS_REDIS_UP = 1, STATS_REDIS_DOWN = 2 };

typedef struct edge_stats {
    /* written by the edge */
    atomic_ulong connections;      /* client connections (Engine.IO and plain sessions) */
    atomic_ulong sockets;          /* Socket.IO sockets (all namespaces) */
    atomic_ulong handshakes;       /* connections accepted, ever */
    atomic_ulong broadcasts_in;    /* broadcast messages received from the cluster thread */
    atomic_ulong deliveries;       /* packets queued to sockets by broadcasts */
    atomic_ulong slow_consumer_closes;
    atomic_ulong rate_limited;     /* sockets cut for EVENT_RATE */
    atomic_ulong latency_buckets[EDGE_LATENCY_N + 1];
    atomic_ulong latency_count;
    atomic_ulong latency_sum_us;
    atomic_int draining;           /* 1 once the drain started (SIGTERM or ECS) */
    /* written by the cluster thread */
    atomic_int redis_state;        /* STATS_REDIS_* */
    atomic_ulong redis_publish_failed;
    atomic_ulong redis_reconnects;
    /* set before the threads start, then read only */
    long long started_ms;          /* wall clock, ms */
} edge_stats;

#define EDGE_STAT_ADD(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)
#define EDGE_STAT_SET(s, field, v) atomic_store_explicit(&(s)->field, (v), memory_order_relaxed)
#define EDGE_STAT_GET(s, field) atomic_load_explicit(&(s)->field, memory_order_relaxed)

#endif
