/* sio-conformance: the reference test server of the official Engine.IO and
 * Socket.IO test suites. Engine.IO echo on /engine.io/; port 3000 (--port N),
 * pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000, CORS "*". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "eio_server.h"

typedef struct conformance {
    uv_loop_t loop;
    edge *edge;
    eio_server *eio_echo;
    uv_signal_t sigterm, sigint;
} conformance;

static void echo_message(void *ctx, eio_session *s, const eio_packet *p)
{
    frame *f = p->binary ? frame_new_binary(p->data, p->len)
                         : frame_new_text('4', p->data, p->len);
    if (!f)
        return;
    eio_session_send(s, f);
    frame_unref(f);
}

static void on_signal(uv_signal_t *h, int signum)
{
    conformance *app = h->data;
    uv_signal_stop(&app->sigterm);
    uv_signal_stop(&app->sigint);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    eio_server_free(app->eio_echo);
    app->eio_echo = NULL;
    edge_destroy(app->edge);
    app->edge = NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: sio-conformance [--port N]\n"
                 "  Engine.IO echo on /engine.io/ (pingInterval 300, pingTimeout 200,\n"
                 "  maxPayload 1000000, CORS *), for the official test suites.\n");
}

int main(int argc, char **argv)
{
    int port = 3000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 65535) {
                fprintf(stderr, "sio-conformance: invalid --port '%s'\n", argv[i]);
                return 2;
            }
            port = (int)v;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "sio-conformance: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

    conformance app;
    memset(&app, 0, sizeof(app));
    uv_loop_init(&app.loop);

    eio_config ec;
    eio_config_defaults(&ec);
    ec.path = "/engine.io/";
    ec.ping_interval_ms = 300;
    ec.ping_timeout_ms = 200;
    ec.max_payload = 1000000;
    ec.cors_origins = "*";
    ec.cookie_name = "io";
    eio_handler echo = {.ctx = &app, .on_message = echo_message};
    app.eio_echo = eio_server_new(&app.loop, &ec, &echo);

    edge_config edc = {.port = port, .max_header_bytes = 16384};
    app.edge = app.eio_echo ? edge_new(&app.loop, &edc) : NULL;
    if (!app.edge || edge_mount(app.edge, app.eio_echo)) {
        fprintf(stderr, "sio-conformance: cannot listen on port %d\n", port);
        return 1;
    }
    uv_signal_init(&app.loop, &app.sigterm);
    uv_signal_init(&app.loop, &app.sigint);
    app.sigterm.data = app.sigint.data = &app;
    uv_signal_start(&app.sigterm, on_signal, SIGTERM);
    uv_signal_start(&app.sigint, on_signal, SIGINT);
    fprintf(stderr, "sio-conformance: listening on port %d\n", edge_port(app.edge));

    uv_run(&app.loop, UV_RUN_DEFAULT);
    uv_loop_close(&app.loop);
    return 0;
}
