/* health: see health.h. */
#include "health.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

static int set_count(json_t *o, const char *key, long long v)
{
    return v < 0 ? 0 : json_object_set_new(o, key, json_integer((json_int_t)v));
}

int health_body(bytebuf *out, const health_view *v)
{
    json_t *o = json_pack("{sssIsIss}", "status", v->draining ? "draining" : "ok", "connections",
                          (json_int_t)v->connections, "sockets", (json_int_t)v->sockets, "node",
                          v->node ? v->node : "");
    int rc = o ? 0 : -1;
    if (!rc && v->redis)
        rc = json_object_set_new(o, "redis", json_string(v->redis));
    if (!rc)
        rc = set_count(o, "redis_publish_failed", v->redis_publish_failed) ||
             set_count(o, "redis_reconnects", v->redis_reconnects);
    char *text = rc ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rc = text ? bytebuf_append_str(out, text) : -1;
    free(text);
    return rc ? -ENOMEM : 0;
}
