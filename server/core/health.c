/* health: see health.h. */
#include "health.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

static const char *redis_name(int state)
{
    return state == STATS_REDIS_UP ? "up" : state == STATS_REDIS_DOWN ? "down" : "none";
}

static json_t *body_of(const edge_stats *st, const char *node, const char *status, int redis)
{
    char ts[32];
    long long now = wall_ms();
    wall_iso(now, ts);
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
