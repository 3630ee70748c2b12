/* sio-server: the gateway users deploy. Configured by environment variables
 * (`sio-server --help` lists them); clients on PORT, the internal API on
 * API_PORT served by the cluster thread. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_bridge.h"
#include "edge.h"
#include "gateway.h"
#include "gateway_config.h"

typedef struct app {
    uv_loop_t loop;
    gateway_config cfg;
    edge_stats stats;
    gateway *gw;
    edge *edge;
    cluster_bridge *bridge;
    cluster *cluster;
    uv_signal_t sigterm, sigint;
} app;

static const char *env(const char *name)
{
    return getenv(name);
}

static void shutdown_app(app *a)
{
    cluster_stop(a->cluster); /* joins the cluster thread: nothing pushes to the edge after */
    a->cluster = NULL;
    cluster_bridge_close(a->bridge);
    a->bridge = NULL;
    gateway_free(a->gw); /* closes every session */
    a->gw = NULL;
    edge_destroy(a->edge);
    a->edge = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    fprintf(stdout, "{\"level\":\"info\",\"msg\":\"shutting down\",\"signal\":%d}\n", signum);
    fflush(stdout);
    uv_signal_stop(&a->sigterm);
    uv_signal_stop(&a->sigint);
    shutdown_app(a);
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
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    uv_loop_init(&a.loop);

    const char *why = NULL;
    a.gw = gateway_new(&a.loop, &a.cfg, &a.stats, &why);
    if (!a.gw) {
        fprintf(stderr, "sio-server: %s\n", why ? why : "cannot start");
        return 1;
    }
    edge_config ec = {
        .bind_addr = a.cfg.bind_addr,
        .port = a.cfg.port,
        .max_header_bytes = 32768,
        .max_connections = a.cfg.max_connections,
    };
    a.edge = edge_new(&a.loop, &ec);
    if (!a.edge || edge_mount(a.edge, sio_server_engine(gateway_io(a.gw)))) {
        fprintf(stderr, "sio-server: cannot listen on PORT %d\n", a.cfg.port);
        return 1;
    }
    edge_set_http_handler(a.edge, gateway_http, a.gw);
    a.bridge = cluster_bridge_new(&a.loop, gateway_io(a.gw), &a.stats);
    cluster_config cc = {
        .api_bind = a.cfg.api_bind_addr,
        .api_port = a.cfg.api_port,
        .api_token = a.cfg.api_token,
        .api_max_body = a.cfg.api_max_body,
        .namespaces = (const char *const *)a.cfg.namespaces,
        .node_id = a.cfg.node_id,
    };
    a.cluster = a.bridge ? cluster_start(&cc, cluster_bridge_inbox(a.bridge), &a.stats) : NULL;
    if (!a.cluster)
        return 1;

    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    fprintf(stdout,
            "{\"level\":\"info\",\"msg\":\"listening\",\"port\":%d,\"api_port\":%d,\"node\":\"%s\"}\n",
            edge_port(a.edge), cluster_api_port(a.cluster), a.cfg.node_id);
    fflush(stdout);

    uv_run(&a.loop, UV_RUN_DEFAULT);
    uv_loop_close(&a.loop);
    gateway_config_free(&a.cfg);
    return 0;
}
