/* sio-server: the gateway users deploy. Configured by environment variables
 * (`sio-server --help` lists them); clients on PORT, the internal API on
 * API_PORT served by the cluster thread.
 *
 * The drain: /health turns 503, new handshakes get 503, connected clients
 * are closed in batches spread over DRAIN_SECONDS (WebSocket close 1001,
 * polling a close packet, so that socket.io-client reconnects at once, to
 * another task), then Redis is left and the process exits 0. SIGTERM starts
 * it; on ECS it starts earlier, when the task metadata says the task is
 * stopping (ECS_DRAIN), and the process then exits when SIGTERM comes (at
 * once if the drain is over, else when it is). A second SIGTERM or SIGINT
 * exits at once. */
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_bridge.h"
#include "edge.h"
#include "edge_lws.h"
#include "gateway.h"
#include "gateway_config.h"
#include "wall_clock.h"
#include "log.h"

#define DRAIN_TICK_MS 100

typedef struct app {
    uv_loop_t loop;
    gateway_config cfg;
    edge_stats stats;
    gateway *gw;
    edge *edge;
    cluster_bridge *bridge;
    cluster *cluster;
    uv_signal_t sigterm, sigint;
    uv_timer_t drain_timer;
    int draining, stopped;
    int signalled;           /* SIGTERM came: exit once drained */
    size_t drain_total;      /* sessions when the drain started */
    uint64_t drain_started_ms;
} app;

static const char *env(const char *name)
{
    return getenv(name);
}

static void shutdown_app(app *a)
{
    if (a->stopped)
        return;
    a->stopped = 1;
    /* the edge stops reporting first: closing the sessions below deletes rooms,
     * which must not reach a cluster thread that is gone */
    gateway_set_barrier(a->gw, NULL, NULL);
    cluster_bridge_detach(a->bridge);
    cluster_stop(a->cluster); /* joins the cluster thread, leaves Redis */
    a->cluster = NULL;
    cluster_bridge_close(a->bridge);
    a->bridge = NULL;
    gateway_free(a->gw); /* closes every session left */
    a->gw = NULL;
    edge_destroy(a->edge);
    a->edge = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_timer_stop(&a->drain_timer);
    uv_close((uv_handle_t *)&a->drain_timer, NULL);
    log_write(LOG_INFO, "stopped", NULL);
}

static void drain_tick(uv_timer_t *t)
{
    app *a = t->data;
    eio_server *eng = sio_server_engine(gateway_io(a->gw));
    size_t left = eio_server_session_count(eng);
    uint64_t elapsed = uv_now(&a->loop) - a->drain_started_ms;
    uint64_t window = (uint64_t)a->cfg.drain_seconds * 1000;
    if (left == 0 || elapsed >= window + 2000) { /* all gone, or stragglers: stop */
        if (a->signalled)
            shutdown_app(a);
        else /* drained early (ECS): wait for SIGTERM, refusing newcomers */
            uv_timer_stop(&a->drain_timer);
        return;
    }
    /* close the share of the initial population due by now: an even spread
     * over the window (everyone at once when DRAIN_SECONDS is 0) */
    size_t due = window && elapsed < window
                     ? (size_t)((double)a->drain_total * (double)(elapsed + DRAIN_TICK_MS) / (double)window)
                     : a->drain_total;
    size_t closed = a->drain_total > left ? a->drain_total - left : 0;
    if (due > closed)
        eio_server_close_some(eng, due - closed, 1001, "server shutting down");
}

static void start_drain(app *a, const char *why)
{
    a->draining = 1;
    EDGE_STAT_SET(&a->stats, draining, 1);
    eio_server *eng = sio_server_engine(gateway_io(a->gw));
    eio_server_set_draining(eng, 1);
    a->drain_total = eio_server_session_count(eng);
    a->drain_started_ms = uv_now(&a->loop);
    char fields[96];
    snprintf(fields, sizeof(fields), "\"connections\":%zu,\"drain_seconds\":%u,\"by\":\"%s\"",
             a->drain_total, a->cfg.drain_seconds, why);
    log_write(LOG_INFO, "draining", fields);
    uv_timer_start(&a->drain_timer, drain_tick, 0, DRAIN_TICK_MS);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    if (signum == SIGTERM && !a->signalled) {
        a->signalled = 1;
        if (!a->draining)
            start_drain(a, "SIGTERM");
        else if (!uv_is_active((uv_handle_t *)&a->drain_timer))
            shutdown_app(a); /* the ECS drain is over */
        return;
    }
    log_write(LOG_INFO, "stopping at once", signum == SIGINT ? "\"signal\":\"SIGINT\"" : "\"signal\":\"SIGTERM\"");
    shutdown_app(a);
}

static void on_task_stopping(void *ctx)
{
    app *a = ctx;
    if (!a->draining)
        start_drain(a, "ECS task stopping");
}

#ifdef SIO_TEST_HOOKS
/* Test builds only (tests/sio-server-stall): SIGUSR1 blocks the edge thread for
 * SIO_TEST_STALL_MS (default 3000) ms, as a saturated edge would, so that the
 * suites can watch the mailboxes fill and the API refuse. */
static uv_signal_t stall_signal;

static void on_stall(uv_signal_t *h, int signum)
{
    const char *ms = getenv("SIO_TEST_STALL_MS");
    log_write(LOG_WARN, "test hook: edge thread stalled", NULL);
    usleep((useconds_t)(ms ? atoi(ms) : 3000) * 1000);
}

static void test_hooks_start(app *a)
{
    uv_signal_init(&a->loop, &stall_signal);
    uv_signal_start(&stall_signal, on_stall, SIGUSR1);
    uv_unref((uv_handle_t *)&stall_signal);
}
#endif

/* REDIS_SHARDED_SUBSCRIPTION_MODE as the adapter numbers it. */
static int sharded_mode(const char *mode)
{
    return !mode || strcmp(mode, "dynamic") == 0 ? 0 : strcmp(mode, "static") == 0 ? 1 : 2;
}

static int start(app *a)
{
    const char *why = NULL, *variable = NULL;
    a->stats.started_ms = wall_ms();
    a->gw = gateway_new(&a->loop, &a->cfg, &a->stats, &why, &variable);
    if (!a->gw) { /* a configuration error exits 2, like the checks at load */
        fprintf(stderr, "sio-server: %s%s%s\n", variable ? variable : "", variable ? ": " : "",
                why ? why : "cannot start");
        return variable ? 2 : 1;
    }
    edge_config ec = {
        .bind_addr = a->cfg.bind_addr,
        .port = a->cfg.port,
        .max_header_bytes = 32768,
        .max_connections = a->cfg.max_connections,
    };
    a->edge = edge_new(&a->loop, &ec);
    if (!a->edge || eio_server_mount(sio_server_engine(gateway_io(a->gw)), a->edge)) {
        fprintf(stderr, "sio-server: cannot listen on PORT %d\n", a->cfg.port);
        return 1;
    }
    edge_set_fallback(a->edge, gateway_http(a->gw));
    mailbox_limits mb = {a->cfg.mailbox_max_messages, a->cfg.mailbox_max_bytes};
    a->bridge = cluster_bridge_new(&a->loop, gateway_io(a->gw), &a->stats, &mb);
    cluster_config cc = {
        .api_bind = a->cfg.api_bind_addr,
        .api_port = a->cfg.api_port,
        .api_token = a->cfg.api_token,
        .api_max_body = a->cfg.api_max_body,
        .api_request_timeout_ms = a->cfg.api_request_timeout_ms,
        .namespaces = (const char *const *)a->cfg.namespaces,
        .node_id = a->cfg.node_id,
        .redis_url = a->cfg.redis_url,
        .redis_prefix = a->cfg.redis_prefix,
        .redis_ca_file = a->cfg.redis_tls_ca_file,
        .redis_sni = a->cfg.redis_tls_sni,
        .redis_pattern_mode = a->cfg.redis_subscribe_mode &&
                              strcmp(a->cfg.redis_subscribe_mode, "pattern") == 0,
        .health_redis_down_status = a->cfg.health_redis_down_status,
        .inbox = mb,
        .recovery_window_ms = a->cfg.recovery_window_ms,
        .redis_buffer_max_messages = a->cfg.redis_buffer_max_messages,
        .redis_buffer_max_bytes = a->cfg.redis_buffer_max_bytes,
        .redis_streams = a->cfg.redis_adapter && strcmp(a->cfg.redis_adapter, "streams") == 0,
        .redis_stream_maxlen = a->cfg.redis_stream_maxlen,
        .redis_sharded = a->cfg.redis_adapter && strcmp(a->cfg.redis_adapter, "sharded") == 0,
        .redis_sharded_mode = sharded_mode(a->cfg.redis_sharded_mode),
        .redis_cluster = a->cfg.redis_cluster,
        .redis_cluster_seeds = a->cfg.redis_cluster_seeds,
        .connect_proxy_url = a->cfg.connect_proxy_url,
        .event_proxy_url = a->cfg.event_proxy_url,
        .event_stream = a->cfg.event_stream,
        .event_stream_maxlen = a->cfg.event_stream_maxlen,
        .proxy_timeout_ms = a->cfg.proxy_timeout_ms,
        .proxy_max_inflight = a->cfg.proxy_max_inflight,
        .proxy_max_queued = a->cfg.proxy_max_queued,
        .proxy_max_response_bytes = a->cfg.proxy_max_response_bytes,
        .proxy_ca_file = a->cfg.proxy_tls_ca_file,
        .max_rooms_per_socket = a->cfg.max_rooms_per_socket,
        .metrics_emf = a->cfg.metrics_emf,
        .metrics_emf_interval_ms = a->cfg.metrics_emf_interval_ms,
        .metrics_emf_namespace = a->cfg.metrics_emf_namespace,
        .metrics_emf_cluster = a->cfg.metrics_emf_cluster,
        .metrics_emf_service = a->cfg.metrics_emf_service,
        .ecs_metadata_uri = a->cfg.ecs_drain ? getenv("ECS_CONTAINER_METADATA_URI_V4") : NULL,
        .ecs_metadata_poll_ms = a->cfg.ecs_metadata_poll_ms,
    };
    if (a->cfg.recovery_unavailable)
        log_write(LOG_WARN, "connection state recovery is off: REDIS_ADAPTER=sharded has no history to "
                            "recover from (see docs/DEPLOY.md)", NULL);
    a->cluster = a->bridge ? cluster_start(&cc, cluster_bridge_inbox(a->bridge), &a->stats) : NULL;
    if (!a->cluster)
        return 1;
    /* replies go to the cluster thread; with Redis the edge also reports
     * namespaces, rooms and local broadcasts there */
    cluster_bridge_attach(a->bridge, cluster_inbox(a->cluster), a->cfg.redis_url != NULL);
    /* the application backend: requests to the cluster thread, answers back */
    gateway_set_backend_link(a->gw, cluster_bridge_send, a->bridge);
    cluster_bridge_on_backend(a->bridge, gateway_on_backend_answer, a->gw);
    cluster_bridge_on_drain(a->bridge, on_task_stopping, a);
    if (a->cfg.redis_url) { /* subscribe acks wait for Redis; sessions live there */
        gateway_set_barrier(a->gw, cluster_bridge_barrier, a->bridge);
        cluster_bridge_recover_in_cluster(a->bridge);
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            gateway_config_print_help(stdout);
            return 0;
        }
        fprintf(stderr, "sio-server: unknown argument '%s' (configuration is by environment; "
                        "see --help)\n", argv[i]);
        return 2;
    }
    static app a; /* the process config lives here, immutable after load */
    char err[512];
    if (gateway_config_load(&a.cfg, env, err, sizeof(err))) {
        fprintf(stderr, "sio-server: %s\n", err);
        return 2;
    }
    log_set_level(a.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    edge_lws_set_log(log_lws_line);
    uv_loop_init(&a.loop);
    int rc = start(&a);
    if (rc)
        return rc;

    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sigint);
    uv_timer_init(&a.loop, &a.drain_timer);
    a.sigterm.data = a.sigint.data = a.drain_timer.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
#ifdef SIO_TEST_HOOKS
    test_hooks_start(&a);
#endif
    char fields[256];
    snprintf(fields, sizeof(fields), "\"port\":%d,\"api_port\":%d,\"node\":\"%s\",\"redis\":%s",
             edge_port(a.edge), cluster_api_port(a.cluster), a.cfg.node_id,
             a.cfg.redis_url ? "true" : "false");
    log_write(LOG_INFO, "listening", fields);

    uv_run(&a.loop, UV_RUN_DEFAULT);
    uv_loop_close(&a.loop);
    gateway_config_free(&a.cfg);
    return 0;
}
