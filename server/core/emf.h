/* emf: CloudWatch Embedded Metric Format lines (METRICS_EMF). Thread-neutral,
 * no I/O: the cluster thread (adapters/redis/cluster_emf.c) samples and writes.
 *
 * One line is one JSON object: the root members hold the values, "_aws" says
 * which of them are metrics (CloudWatch's specification: "_aws" with
 * "Timestamp" in ms and "CloudWatchMetrics", an array of directives each with
 * "Namespace", "Dimensions" (an array of dimension-name arrays, each name a
 * root member holding a string) and "Metrics" ({"Name","Unit"}, each a root
 * member holding a number)). A metric with no value this interval (no
 * delivery: no latency; standalone: no Redis) is left out of both. */
#ifndef SIO_EMF_H
#define SIO_EMF_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

typedef struct emf_dims {
    const char *namespace_; /* e.g. "sio" */
    const char *cluster;    /* ClusterName */
    const char *service;    /* ServiceName */
} emf_dims;

/* One interval's values. Counts are of the interval; gauges are now. */
typedef struct emf_sample {
    long long timestamp_ms;
    double connections, sockets, handshakes, deliveries;
    double slow_consumer, rate_limited, draining;
    int has_latency;                 /* 0: the three percentiles are left out */
    double p50_ms, p95_ms, p99_ms;
    int redis_up;                    /* 1, 0, or -1: left out (standalone) */
} emf_sample;

/* Appends one line (with its '\n'); 0, or -1 out of memory. */
int emf_line(bytebuf *out, const emf_dims *d, const emf_sample *s);

/* The q-quantile (0 < q < 1), in ms, of a histogram: counts[i] observations
 * at most bounds_s[i] seconds (counts[n] above the last bound), linear within
 * a bucket (the top bucket reports the last bound). -1 when it is empty. */
double emf_quantile_ms(const uint64_t *counts, const double *bounds_s, size_t n, double q);

#endif
