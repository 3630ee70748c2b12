/* ecs_watch: see ecs_watch.h. */
#include "ecs_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "http_client.h"

struct ecs_watch {
    http_client *http;
    struct event *timer;
    char *url;                 /* <uri>/task */
    uint32_t poll_ms;
    int inflight, fired;
    int (*on_stopping)(void *ctx);
    void *ctx;
};

int ecs_task_stopping(const char *body, size_t len)
{
    json_t *task = json_loadb(body, len, 0, NULL);
    const char *desired = json_string_value(json_object_get(task, "DesiredStatus"));
    int stopping = desired && strcmp(desired, "STOPPED") == 0;
    json_decref(task);
    return stopping;
}

static void on_answer(void *ud, const http_result *r)
{
    ecs_watch *w = ud;
    w->inflight = 0;
    if (w->fired || r->error || r->status != 200 || !ecs_task_stopping(r->body, r->body_len))
        return;
    if (w->on_stopping(w->ctx))
        return; /* not taken (the edge's mailbox is full): again at the next poll */
    w->fired = 1;
    event_del(w->timer);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    ecs_watch *w = arg;
    if (w->inflight || w->fired)
        return;
    if (http_client_get(w->http, w->url, NULL, w->poll_ms, on_answer, w) == 0)
        w->inflight = 1;
}

ecs_watch *ecs_watch_new(struct event_base *base, const char *uri, uint32_t poll_ms,
                         int (*on_stopping)(void *ctx), void *ctx)
{
    ecs_watch *w = calloc(1, sizeof(*w));
    http_client_config hc = {.max_inflight = 1, .max_queued = 1, .max_response_bytes = 1 << 20};
    size_t n = strlen(uri) + sizeof("/task");
    if (!w || !(w->url = malloc(n)) || !(w->http = http_client_new(base, &hc)) ||
        !(w->timer = event_new(base, -1, EV_PERSIST, on_tick, w))) {
        ecs_watch_free(w);
        return NULL;
    }
    snprintf(w->url, n, "%s%s", uri, uri[0] && uri[strlen(uri) - 1] == '/' ? "task" : "/task");
    w->poll_ms = poll_ms;
    w->on_stopping = on_stopping;
    w->ctx = ctx;
    struct timeval tv = {poll_ms / 1000, (poll_ms % 1000) * 1000};
    event_add(w->timer, &tv);
    return w;
}

void ecs_watch_free(ecs_watch *w)
{
    if (!w)
        return;
    if (w->timer)
        event_free(w->timer);
    http_client_free(w->http); /* a request in flight calls on_answer: w is still whole */
    free(w->url);
    free(w);
}
