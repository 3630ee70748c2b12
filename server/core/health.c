/* health: see health.h. */
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

long long health_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ISO 8601 in UTC with milliseconds, as JavaScript's toISOString(). */
static void iso_time(long long ms, char out[32])
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static const char *redis_name(int state)
{
    return state == STATS_REDIS_UP ? "up" : state == STATS_REDIS_DOWN ? "down" : "none";
}

static json_t *body_of(const edge_stats *st, const char *node, const char *status, int redis)
{
    char ts[32];
    long long now = health_now_ms();
    iso_time(now, ts);
    json_t *o = json_pack("{sssssfsssssIsIss}", "status", status, "timestamp", ts, "uptime",
                          (double)(now - st->started_ms) / 1000.0, "version", SIO_VERSION, "node",
                          node ? node : "", "connections", (json_int_t)EDGE_STAT_GET(st, connections),
                          "sockets", (json_int_t)EDGE_STAT_GET(st, sockets), "redis", redis_name(redis));
    if (o && redis != STATS_REDIS_NONE) {
        json_object_set_new(o, "redis_publish_failed",
                            json_integer((json_int_t)EDGE_STAT_GET(st, redis_publish_failed)));
        json_object_set_new(o, "redis_reconnects",
                            json_integer((json_int_t)EDGE_STAT_GET(st, redis_reconnects)));
    }
    return o;
}

int health_answer(const edge_stats *st, const char *node, int redis_down_status, bytebuf *out)
{
    int redis = EDGE_STAT_GET(st, redis_state);
    int draining = EDGE_STAT_GET(st, draining);
    const char *status = draining ? "draining" : redis == STATS_REDIS_DOWN ? "degraded" : "ok";
    json_t *o = body_of(st, node, status, redis);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(o);
    int rc = text ? bytebuf_append_str(out, text) : -1;
    free(text);
    if (rc)
        return -ENOMEM;
    return draining ? 503 : redis == STATS_REDIS_DOWN ? redis_down_status : 200;
}
