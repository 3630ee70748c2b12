/* emf: see emf.h. */
#include "emf.h"

#include <math.h>
#include <stdlib.h>

#include <jansson.h>

/* Counts as integers, the rest as they are. */
static json_t *number(double v)
{
    if (fabs(v) < 9e15 && v == floor(v))
        return json_integer((json_int_t)v);
    return json_real(v);
}

typedef struct metric {
    const char *name, *unit;
    double value;
    int present;
} metric;

static json_t *directive(const emf_dims *d, const metric *m, size_t n)
{
    json_t *defs = json_array();
    for (size_t i = 0; defs && i < n; i++)
        if (m[i].present)
            json_array_append_new(defs, json_pack("{ssss}", "Name", m[i].name, "Unit", m[i].unit));
    return json_pack("{ss s[[ss]] so}", "Namespace", d->namespace_, "Dimensions", "ClusterName",
                     "ServiceName", "Metrics", defs);
}

static json_t *root_of(const emf_dims *d, const emf_sample *s, const metric *m, size_t n)
{
    json_t *o = json_pack("{s{sIs[o]}ssss}", "_aws", "Timestamp", (json_int_t)s->timestamp_ms,
                          "CloudWatchMetrics", directive(d, m, n), "ClusterName", d->cluster,
                          "ServiceName", d->service);
    for (size_t i = 0; o && i < n; i++)
        if (m[i].present)
            json_object_set_new(o, m[i].name, number(m[i].value));
    return o;
}

int emf_line(bytebuf *out, const emf_dims *d, const emf_sample *s)
{
    const metric m[] = {
        {"Connections", "Count", s->connections, 1},
        {"Sockets", "Count", s->sockets, 1},
        {"Handshakes", "Count", s->handshakes, 1},
        {"Deliveries", "Count", s->deliveries, 1},
        {"DeliveryLatencyP50", "Milliseconds", s->p50_ms, s->has_latency},
        {"DeliveryLatencyP95", "Milliseconds", s->p95_ms, s->has_latency},
        {"DeliveryLatencyP99", "Milliseconds", s->p99_ms, s->has_latency},
        {"SlowConsumerDisconnects", "Count", s->slow_consumer, 1},
        {"RateLimitDisconnects", "Count", s->rate_limited, 1},
        {"RedisUp", "None", (double)s->redis_up, s->redis_up >= 0},
        {"Draining", "None", s->draining, 1},
    };
    json_t *o = root_of(d, s, m, sizeof m / sizeof m[0]);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(o);
    int rc = text && !bytebuf_append_str(out, text) && !bytebuf_append(out, "\n", 1) ? 0 : -1;
    free(text);
    return rc;
}

double emf_quantile_ms(const uint64_t *counts, const double *bounds_s, size_t n, double q)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= n; i++)
        total += counts[i];
    if (!total)
        return -1;
    double rank = q * (double)total, seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (seen + (double)counts[i] >= rank && counts[i]) {
            double lo = i ? bounds_s[i - 1] : 0, hi = bounds_s[i];
            return 1000.0 * (lo + (hi - lo) * (rank - seen) / (double)counts[i]);
        }
        seen += (double)counts[i];
    }
    return 1000.0 * bounds_s[n - 1];
}
