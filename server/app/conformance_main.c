/* sio-conformance: the reference test server of the official Engine.IO and
 * Socket.IO test suites, port 3000 (--port N), pingInterval 300 ms,
 * pingTimeout 200 ms, maxPayload 1000000, CORS "*":
 *  - /engine.io/: Engine.IO echo of every message, text and binary;
 *  - /socket.io/: connectTimeout 1000 ms; on "/" and "/custom" emit "auth" with
 *    the handshake auth; on "/", "message" -> "message-back" with the same
 *    arguments and "message-with-ack" acknowledged with the same arguments;
 *    any other namespace is refused ("Invalid namespace"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "edge_lws.h"
#include "eio_server.h"
#include "sio.h"

typedef struct conformance {
    uv_loop_t loop;
    edge *edge;
    eio_server *eio_echo;
    sio_server *io;
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

/* "auth" goes out 20 ms after the CONNECT answer. sio writes the frames
 * queued for a socket in one loop turn with one system call; the suites'
 * client (ws 8.5) emits the frames of one read synchronously, and the suites
 * wait for each with a once-listener attached only after the previous one
 * resolved, so a second frame that arrives in the same read is never seen.
 * Node's server writes them apart (engine.io waits for the first write's
 * callback), slowly enough that the client has read the first. Clients that
 * consume events as they come (socket.io-client; browsers, which dispatch
 * each message as its own task) see no difference. */
#define AUTH_DELAY_MS 20
typedef struct deferred_auth {
    uv_timer_t timer;
    sio_namespace *nsp; /* "/" or "/custom": never freed */
    char id[32];
} deferred_auth;

static int shutting_down; /* set before the servers are freed */

static void free_deferred(uv_handle_t *h)
{
    free(h->data);
}

static void emit_auth_now(uv_timer_t *t)
{
    deferred_auth *d = t->data;
    sio_socket *s = shutting_down ? NULL : sio_socket_find(d->nsp, d->id);
    if (s) {
        json_t *args = json_pack("[O]", sio_socket_auth(s));
        sio_args a = {.json = args};
        sio_emit(s, "auth", &a);
        json_decref(args);
    }
    uv_close((uv_handle_t *)t, free_deferred);
}

static void emit_auth(sio_socket *s, void *ud)
{
    deferred_auth *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    d->nsp = sio_socket_namespace(s);
    snprintf(d->id, sizeof(d->id), "%s", sio_socket_id(s));
    uv_timer_init(ud, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, emit_auth_now, AUTH_DELAY_MS, 0);
}

static void message_back(sio_socket *s, const char *event, const sio_args *args,
                         const sio_ack_handle *ack, void *ud)
{
    sio_emit(s, "message-back", args);
}

static void message_with_ack(sio_socket *s, const char *event, const sio_args *args,
                             const sio_ack_handle *ack, void *ud)
{
    if (ack)
        sio_ack(ud, ack, args);
}

static sio_server *socketio_reference(uv_loop_t *loop)
{
    sio_config sc;
    sio_config_defaults(&sc);
    sc.engine.ping_interval_ms = 300;
    sc.engine.ping_timeout_ms = 200;
    sc.engine.max_payload = 1000000;
    sc.engine.cors_origins = "*";
    sc.connect_timeout_ms = 1000;
    sio_server *io = sio_server_new(loop, &sc);
    if (!io)
        return NULL;
    sio_namespace *root = sio_of(io, "/");
    sio_on_connection(root, emit_auth, loop);
    sio_on(root, "message", message_back, NULL);
    sio_on(root, "message-with-ack", message_with_ack, io);
    sio_on_connection(sio_of(io, "/custom"), emit_auth, loop);
    return io;
}

static void on_signal(uv_signal_t *h, int signum)
{
    conformance *app = h->data;
    shutting_down = 1;
    uv_signal_stop(&app->sigterm);
    uv_signal_stop(&app->sigint);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    eio_server_free(app->eio_echo);
    app->eio_echo = NULL;
    sio_server_free(app->io);
    app->io = NULL;
    edge_destroy(app->edge);
    app->edge = NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: sio-conformance [--port N]\n"
                 "  The reference server of the official Engine.IO and Socket.IO test suites:\n"
                 "  Engine.IO echo on /engine.io/, Socket.IO reference behaviour on\n"
                 "  /socket.io/ (pingInterval 300, pingTimeout 200, maxPayload 1000000,\n"
                 "  connectTimeout 1000, CORS *).\n");
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
    edge_lws_set_log(NULL);

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
    app.io = socketio_reference(&app.loop);

    edge_config edc = {.port = port, .max_header_bytes = 16384};
    app.edge = app.eio_echo && app.io ? edge_new(&app.loop, &edc) : NULL;
    if (!app.edge || eio_server_mount(app.eio_echo, app.edge) ||
        eio_server_mount(sio_server_engine(app.io), app.edge)) {
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
