#include "cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "cluster_emf.h"
#include "ecs_watch.h"
#include "log.h"

static void on_inbox(evutil_socket_t fd, short what, void *arg)
{
    cluster *c = arg;
    cluster_msg *m = mailbox_drain(&c->inbox);
    while (m) {
        cluster_msg *next = m->next;
        if (m->type == MSG_METRICS) {
            response_msg *r = (response_msg *)m;
            api_metrics_reply(c, r->token, r->payload, r->len);
        } else if (m->type == MSG_BACKEND) {
            if (c->backend)
                backend_proxy_on_edge(c->backend, (backend_msg *)m);
        } else if (m->type == MSG_REPLY && api_query_local_reply(c, (reply_msg *)m)) {
            /* the edge's part of an API query */
        } else if (c->redis) {
            redis_adapter_on_edge(c->redis, m);
        }
        cluster_msg_unref(m);
        m = next;
    }
}

#define STOP_FLUSH_MS 2000 /* how long a stop waits for Redis to take what is queued */

/* Stopping: what the edge handed over (sessions of a drain, broadcasts) goes
 * to Redis first, for at most STOP_FLUSH_MS; then the loop ends. */
static void stop_when_settled(evutil_socket_t fd, short what, void *arg)
{
    cluster *c = arg;
    on_inbox(-1, 0, c);
    if (!c->redis || redis_adapter_settled(c->redis) || ++c->stop_polls * 10 >= STOP_FLUSH_MS) {
        event_base_loopexit(c->base, NULL);
        return;
    }
    struct timeval tv = {0, 10000};
    event_add(c->stop_event, &tv);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    stop_when_settled(fd, what, arg);
}

static void wake_cluster(void *ctx)
{
    event_active(ctx, EV_READ, 0);
}

static void *cluster_main(void *arg)
{
    cluster *c = arg;
    event_base_dispatch(c->base);
    return NULL;
}

void cluster_publish_stats(cluster *c)
{
    edge_stats *st = c->stats;
    int state = !c->redis ? STATS_REDIS_NONE
                : redis_adapter_is_up(c->redis) ? STATS_REDIS_UP
                                                : STATS_REDIS_DOWN;
    EDGE_STAT_SET(st, redis_state, state);
    if (c->redis) {
        EDGE_STAT_SET(st, redis_publish_failed,
                      (unsigned long)redis_adapter_get_stats(c->redis)->publish_failed);
        EDGE_STAT_SET(st, redis_reconnects, (unsigned long)redis_adapter_reconnects(c->redis));
    }
}

static void on_stats_tick(evutil_socket_t fd, short what, void *arg)
{
    cluster_publish_stats(arg);
}

/* The platform stops this task (ecs_watch): the edge starts its drain. */
static int on_task_stopping(void *ctx)
{
    cluster *c = ctx;
    cluster_msg *m = token_msg_new(MSG_DRAIN, 0);
    if (!m || mailbox_push(c->to_edge, m))
        return -1; /* the watch tells again at its next poll */
    log_write(LOG_INFO, "the ECS task is stopping: draining", NULL);
    return 0;
}

/* Timers of the thread: stats for the edge, EMF lines, the ECS task watch. */
static int start_timers(cluster *c)
{
    const cluster_config *cfg = &c->cfg;
    struct timeval tv = {0, 200000};
    cluster_publish_stats(c);
    if (!(c->stats_timer = event_new(c->base, -1, EV_PERSIST, on_stats_tick, c)) ||
        event_add(c->stats_timer, &tv))
        return -1;
    emf_dims d = {cfg->metrics_emf_namespace, cfg->metrics_emf_cluster, cfg->metrics_emf_service};
    if (cfg->metrics_emf && !(c->emf = cluster_emf_new(c->base, &d, cfg->metrics_emf_interval_ms, c->stats)))
        return -1;
    if (cfg->ecs_metadata_uri &&
        !(c->ecs = ecs_watch_new(c->base, cfg->ecs_metadata_uri, cfg->ecs_metadata_poll_ms,
                                 on_task_stopping, c)))
        return -1;
    return 0;
}

static void cluster_free(cluster *c)
{
    ecs_watch_free(c->ecs);
    cluster_emf_free(c->emf);
    if (c->stats_timer)
        event_free(c->stats_timer);
    api_http_stop(c);
    backend_proxy_free(c->backend); /* answers serverSideEmits through the adapter */
    redis_adapter_free(c->redis);
    if (c->inbox_event)
        event_free(c->inbox_event);
    if (c->stop_event)
        event_free(c->stop_event);
    mailbox_destroy(&c->inbox);
    if (c->base)
        event_base_free(c->base);
    free(c);
}

static int server_side_emit(void *ctx, const char *nsp, json_t *data,
                            void (*done)(void *ud, json_t *ack), void *ud)
{
    return backend_proxy_server_side_emit(ctx, nsp, data, done, ud);
}

static int start_backend(cluster *c)
{
    const cluster_config *cfg = &c->cfg;
    backend_proxy_config bc = {cfg->connect_proxy_url, cfg->event_proxy_url, cfg->event_stream,
                               cfg->event_stream_maxlen, cfg->proxy_timeout_ms,
                               cfg->proxy_max_inflight, cfg->proxy_max_queued,
                               cfg->proxy_max_response_bytes, cfg->proxy_ca_file, cfg->node_id,
                               cfg->max_rooms_per_socket};
    if (!bc.connect_url && !bc.event_url && !bc.stream)
        return 0;
    if (!(c->backend = backend_proxy_new(c->base, &bc, c->to_edge, c->redis))) {
        log_write(LOG_ERROR, "cannot start the backend proxy", NULL);
        return -1;
    }
    if (c->redis && bc.event_url)
        redis_adapter_on_server_side_emit(c->redis, server_side_emit, c->backend);
    return 0;
}

static void use_pthreads(void)
{
    evthread_use_pthreads(); /* event_active() from the edge thread needs locking */
}

cluster *cluster_start(const cluster_config *cfg, mailbox *to_edge, edge_stats *stats)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_pthreads);
    cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->to_edge = to_edge;
    c->stats = stats;
    c->base = event_base_new();
    if (!c->base)
        goto fail;
    c->inbox_event = event_new(c->base, -1, 0, on_inbox, c);
    c->stop_event = event_new(c->base, -1, 0, on_stop, c); /* also its flush timer */
    if (!c->inbox_event || !c->stop_event ||
        mailbox_init(&c->inbox, &cfg->inbox, wake_cluster, c->inbox_event))
        goto fail;
    if (cfg->redis_url) {
        const char *err = NULL;
        redis_adapter_config rc = {cfg->redis_url, cfg->redis_prefix, cfg->redis_ca_file,
                                   cfg->redis_sni, cfg->redis_pattern_mode,
                                   cfg->recovery_window_ms, cfg->redis_buffer_max_messages,
                                   cfg->redis_buffer_max_bytes, cfg->redis_streams,
                                   cfg->redis_stream_maxlen, cfg->redis_sharded,
                                   cfg->redis_sharded_mode, cfg->redis_cluster,
                                   cfg->redis_cluster_seeds};
        if (!(c->redis = redis_adapter_new(c->base, &rc, to_edge, &err))) {
            json_t *f = json_pack("{ss}", "error", err ? err : "cannot start");
            log_json(LOG_ERROR, "REDIS_URL refused", f);
            goto fail;
        }
        redis_query_hooks hooks;
        api_query_hooks(c, &hooks);
        redis_adapter_set_query_hooks(c->redis, &hooks);
    }
    if (start_backend(c) || start_timers(c))
        goto fail;
    if (cfg->api_port && api_http_start(c))
        goto fail;
    if (pthread_create(&c->thread, NULL, cluster_main, c))
        goto fail;
    return c;
fail:
    cluster_free(c);
    return NULL;
}

mailbox *cluster_inbox(cluster *c)
{
    return &c->inbox;
}

int cluster_api_port(const cluster *c)
{
    return c->api_port;
}

void cluster_stop(cluster *c)
{
    if (!c)
        return;
    event_active(c->stop_event, EV_READ, 0);
    pthread_join(c->thread, NULL);
    cluster_free(c);
}
