/* emf: the Embedded Metric Format line against CloudWatch's specification
 * (a JSON object; "_aws" with an integer ms "Timestamp" and "CloudWatchMetrics",
 * directives with "Namespace", "Dimensions" (arrays of root string members),
 * "Metrics" {"Name","Unit"} naming root number members, units from the list),
 * and the histogram quantiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "emf.h"

CHECK_STATE;

static const char *const UNITS[] = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Count",
                                    "Percent", "Count/Second", "None", NULL};

static int unit_ok(const char *u)
{
    for (const char *const *p = UNITS; *p; p++)
        if (u && strcmp(*p, u) == 0)
            return 1;
    return 0;
}

/* Every rule of the specification a CloudWatch ingestion applies; the
 * number of metrics defined, or -1. */
static int check_spec(json_t *root)
{
    json_t *aws = json_object_get(root, "_aws");
    json_t *dirs = json_object_get(aws, "CloudWatchMetrics");
    if (!json_is_integer(json_object_get(aws, "Timestamp")) || !json_is_array(dirs) || json_array_size(dirs) != 1)
        return -1;
    json_t *d = json_array_get(dirs, 0), *dims = json_object_get(d, "Dimensions");
    json_t *metrics = json_object_get(d, "Metrics");
    if (!json_is_string(json_object_get(d, "Namespace")) || !json_is_array(dims) || !json_is_array(metrics))
        return -1;
    for (size_t i = 0; i < json_array_size(dims); i++)
        for (size_t j = 0; j < json_array_size(json_array_get(dims, i)); j++) {
            const char *name = json_string_value(json_array_get(json_array_get(dims, i), j));
            if (!name || !json_is_string(json_object_get(root, name)))
                return -1;
        }
    if (json_array_size(metrics) > 100)
        return -1;
    for (size_t i = 0; i < json_array_size(metrics); i++) {
        json_t *m = json_array_get(metrics, i);
        const char *name = json_string_value(json_object_get(m, "Name"));
        if (!name || !json_is_number(json_object_get(root, name)) ||
            !unit_ok(json_string_value(json_object_get(m, "Unit"))))
            return -1;
    }
    return (int)json_array_size(metrics);
}

static json_t *line_of(const emf_sample *s)
{
    emf_dims d = {"sio", "prod", "sio-svc"};
    bytebuf b = BYTEBUF_INIT;
    CHECK(emf_line(&b, &d, s) == 0);
    CHECK(b.len > 0 && b.data[b.len - 1] == '\n' && !memchr(b.data, '\n', b.len - 1));
    json_t *root = json_loadb((const char *)b.data, b.len, 0, NULL);
    bytebuf_free(&b);
    return root;
}

static void test_full_line(void)
{
    emf_sample s = {.timestamp_ms = 1767225600123LL, .connections = 12, .sockets = 13, .handshakes = 4,
                    .deliveries = 1000, .slow_consumer = 1, .rate_limited = 2, .draining = 0,
                    .has_latency = 1, .p50_ms = 1.5, .p95_ms = 7, .p99_ms = 12.25, .redis_up = 1};
    json_t *root = line_of(&s);
    CHECK(root != NULL);
    CHECK(check_spec(root) == 11);
    CHECK(json_integer_value(json_object_get(json_object_get(root, "_aws"), "Timestamp")) == 1767225600123LL);
    CHECK(strcmp(json_string_value(json_object_get(root, "ClusterName")), "prod") == 0);
    CHECK(strcmp(json_string_value(json_object_get(root, "ServiceName")), "sio-svc") == 0);
    CHECK(json_integer_value(json_object_get(root, "Connections")) == 12);
    CHECK(json_is_integer(json_object_get(root, "Deliveries")));
    CHECK(json_real_value(json_object_get(root, "DeliveryLatencyP99")) == 12.25);
    CHECK(json_integer_value(json_object_get(root, "RedisUp")) == 1);
    json_t *d = json_array_get(json_object_get(json_object_get(root, "_aws"), "CloudWatchMetrics"), 0);
    CHECK(strcmp(json_string_value(json_object_get(d, "Namespace")), "sio") == 0);
    json_decref(root);
}

static void test_left_out(void)
{
    emf_sample s = {.timestamp_ms = 1, .connections = 0, .has_latency = 0, .redis_up = -1};
    json_t *root = line_of(&s);
    CHECK(check_spec(root) == 7); /* no latency (nothing delivered), no Redis (standalone) */
    CHECK(!json_object_get(root, "DeliveryLatencyP50") && !json_object_get(root, "RedisUp"));
    json_decref(root);
    s.redis_up = 0;
    root = line_of(&s);
    CHECK(check_spec(root) == 8 && json_integer_value(json_object_get(root, "RedisUp")) == 0);
    json_decref(root);
}

static void test_quantiles(void)
{
    const double bounds[3] = {0.001, 0.01, 0.1};
    uint64_t none[4] = {0};
    CHECK(emf_quantile_ms(none, bounds, 3, 0.5) == -1);
    uint64_t one_bucket[4] = {0, 100, 0, 0}; /* all between 1 and 10 ms */
    CHECK(fabs(emf_quantile_ms(one_bucket, bounds, 3, 0.5) - 5.5) < 1e-9);
    CHECK(fabs(emf_quantile_ms(one_bucket, bounds, 3, 0.99) - 9.91) < 1e-9);
    uint64_t spread[4] = {50, 45, 4, 1}; /* p50 at the top of the first, p99 in the third */
    CHECK(fabs(emf_quantile_ms(spread, bounds, 3, 0.5) - 1.0) < 1e-9);
    CHECK(fabs(emf_quantile_ms(spread, bounds, 3, 0.95) - 10.0) < 1e-9);
    CHECK(fabs(emf_quantile_ms(spread, bounds, 3, 0.99) - 100.0) < 1e-9);
    uint64_t top[4] = {0, 0, 0, 7}; /* above the last bound: the last bound */
    CHECK(emf_quantile_ms(top, bounds, 3, 0.5) == 100.0);
}

int main(void)
{
    test_full_line();
    test_left_out();
    test_quantiles();
    return CHECK_DONE("test_emf");
}
