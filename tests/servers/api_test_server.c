/* sio-api-test-server: drives every entry point of the public C API (sio.h)
 * from a client, for the integration tests. Port from --port (default 3000).
 *
 * Namespaces: "/", "/custom", the pattern "/dyn-*", and "/guarded" whose
 * middleware refuses unless auth.pass == "secret" (message "not allowed",
 * data {"code":42}). On connection every socket gets "welcome" [nsp, id].
 * Events (acks carry the results):
 *   join  room|[rooms]           -> ack [rooms of the socket after joining]
 *   leave room                   -> ack [rooms of the socket after leaving]
 *   rooms                        -> ack [rooms of the socket]
 *   broadcast {nsp?,rooms,except,event,args,volatile} -> ack [recipients]
 *   echo ...args                 -> emits "echo" with the same args (binary kept)
 *   ack-echo ...args             -> acks with the same args
 *   server-ack {event,args,timeout} -> emits event with an ack request; then
 *       emits "server-ack-result" {"ok":true,"args":[...]} or {"ok":false}
 *   disconnect-me {close}        -> sio_disconnect(s, close)
 *   reasons                      -> ack [[id, reason], ...] of recent disconnects */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "edge_lws.h"
#include "sio.h"

#define MAX_REASONS 64

typedef struct test_app {
    uv_loop_t loop;
    sio_server *io;
    edge *edge;
    uv_signal_t sigterm;
    json_t *reasons; /* [[id, reason], ...] most recent last */
} test_app;

static test_app app;

static void reply(const sio_ack_handle *ack, json_t *args)
{
    if (ack) {
        sio_args a = {.json = args};
        sio_ack(app.io, ack, &a);
    }
    json_decref(args);
}

static json_t *rooms_of(sio_socket *s)
{
    json_t *list = json_array();
    const char *name;
    for (const void *it = NULL; (name = sio_socket_room_next(s, &it));)
        json_array_append_new(list, json_string(name));
    return list;
}

static void on_join(sio_socket *s, const char *ev, const sio_args *args, const sio_ack_handle *ack,
                    void *ud)
{
    json_t *v = json_array_get(args->json, 0);
    if (json_is_string(v))
        sio_join(s, json_string_value(v));
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
        if (json_is_string(json_array_get(v, i)))
            sio_join(s, json_string_value(json_array_get(v, i)));
    reply(ack, json_pack("[o]", rooms_of(s)));
}

static void on_leave(sio_socket *s, const char *ev, const sio_args *args, const sio_ack_handle *ack,
                     void *ud)
{
    const char *room = json_string_value(json_array_get(args->json, 0));
    if (room)
        sio_leave(s, room);
    reply(ack, json_pack("[o]", rooms_of(s)));
}

static void on_rooms(sio_socket *s, const char *ev, const sio_args *args, const sio_ack_handle *ack,
                     void *ud)
{
    reply(ack, json_pack("[o]", rooms_of(s)));
}

static size_t strings(json_t *v, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v) && n < max; i++)
        if (json_is_string(json_array_get(v, i)))
            out[n++] = json_string_value(json_array_get(v, i));
    return n;
}

static void on_broadcast(sio_socket *s, const char *ev, const sio_args *args,
                         const sio_ack_handle *ack, void *ud)
{
    json_t *req = json_array_get(args->json, 0);
    const char *rooms[32], *except[32];
    sio_broadcast_opts opts = {
        .rooms = rooms,
        .n_rooms = strings(json_object_get(req, "rooms"), rooms, 32),
        .except = except,
        .n_except = strings(json_object_get(req, "except"), except, 32),
        .is_volatile = json_is_true(json_object_get(req, "volatile")),
    };
    const char *nsp_name = json_string_value(json_object_get(req, "nsp"));
    sio_namespace *nsp = nsp_name ? sio_of(app.io, nsp_name) : sio_socket_namespace(s);
    const char *event = json_string_value(json_object_get(req, "event"));
    json_t *bargs = json_object_get(req, "args");
    sio_args a = {.json = bargs, .bins = args->bins, .n_bins = args->n_bins};
    int n = event ? sio_broadcast(nsp, &opts, event, &a) : -1;
    reply(ack, json_pack("[i]", n));
}

static void on_echo(sio_socket *s, const char *ev, const sio_args *args, const sio_ack_handle *ack,
                    void *ud)
{
    sio_emit(s, "echo", args);
}

static void on_ack_echo(sio_socket *s, const char *ev, const sio_args *args,
                        const sio_ack_handle *ack, void *ud)
{
    if (ack)
        sio_ack(app.io, ack, args);
}

static void on_server_ack_done(sio_socket *s, int timed_out, const sio_args *args, void *ud)
{
    if (!s)
        return; /* the socket went away */
    json_t *result = timed_out ? json_pack("{sb}", "ok", 0)
                               : json_pack("{sbsO}", "ok", 1, "args", args->json);
    json_t *out = json_pack("[o]", result);
    sio_args a = {.json = out, .bins = timed_out ? NULL : args->bins,
                  .n_bins = timed_out ? 0 : args->n_bins};
    sio_emit(s, "server-ack-result", &a);
    json_decref(out);
}

static void on_server_ack(sio_socket *s, const char *ev, const sio_args *args,
                          const sio_ack_handle *ack, void *ud)
{
    json_t *req = json_array_get(args->json, 0);
    const char *event = json_string_value(json_object_get(req, "event"));
    json_int_t timeout = json_integer_value(json_object_get(req, "timeout"));
    sio_args a = {.json = json_object_get(req, "args"), .bins = args->bins, .n_bins = args->n_bins};
    if (event)
        sio_emit_with_ack(s, event, &a, (uint32_t)timeout, on_server_ack_done, NULL);
}

static void on_disconnect_me(sio_socket *s, const char *ev, const sio_args *args,
                             const sio_ack_handle *ack, void *ud)
{
    sio_disconnect(s, json_is_true(json_object_get(json_array_get(args->json, 0), "close")));
}

static void on_reasons(sio_socket *s, const char *ev, const sio_args *args,
                       const sio_ack_handle *ack, void *ud)
{
    reply(ack, json_pack("[O]", app.reasons));
}

/* Connection state recovery through the C API: the socket's recovered flag,
 * rooms and data (socket.data, set by "set-data"). */
static void on_state(sio_socket *s, const char *ev, const sio_args *args,
                     const sio_ack_handle *ack, void *ud)
{
    reply(ack, json_pack("[{sbsOso}]", "recovered", sio_socket_recovered(s), "data",
                         sio_socket_data(s), "rooms", rooms_of(s)));
}

static void on_set_data(sio_socket *s, const char *ev, const sio_args *args,
                        const sio_ack_handle *ack, void *ud)
{
    json_t *v = json_array_get(args->json, 0);
    sio_socket_set_data(s, json_is_object(v) ? json_deep_copy(v) : NULL);
    reply(ack, json_pack("[b]", 1));
}

static void on_connection(sio_socket *s, void *ud)
{
    json_t *args = json_pack("[ss]", sio_namespace_name(sio_socket_namespace(s)), sio_socket_id(s));
    sio_args a = {.json = args};
    sio_emit(s, "welcome", &a);
    json_decref(args);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    json_array_append_new(app.reasons, json_pack("[ss]", sio_socket_id(s), reason));
    if (json_array_size(app.reasons) > MAX_REASONS)
        json_array_remove(app.reasons, 0);
}

static int guard(sio_socket *s, json_t *auth, const char **message, json_t **data, void *ud)
{
    const char *pass = json_string_value(json_object_get(auth, "pass"));
    if (pass && strcmp(pass, "secret") == 0)
        return 0;
    *message = "not allowed";
    *data = json_pack("{si}", "code", 42);
    return -1;
}

static void setup_namespace(sio_namespace *nsp)
{
    sio_on_connection(nsp, on_connection, NULL);
    sio_on_disconnect(nsp, on_disconnect, NULL);
    sio_on(nsp, "join", on_join, NULL);
    sio_on(nsp, "leave", on_leave, NULL);
    sio_on(nsp, "rooms", on_rooms, NULL);
    sio_on(nsp, "broadcast", on_broadcast, NULL);
    sio_on(nsp, "echo", on_echo, NULL);
    sio_on(nsp, "ack-echo", on_ack_echo, NULL);
    sio_on(nsp, "server-ack", on_server_ack, NULL);
    sio_on(nsp, "disconnect-me", on_disconnect_me, NULL);
    sio_on(nsp, "reasons", on_reasons, NULL);
    sio_on(nsp, "state", on_state, NULL);
    sio_on(nsp, "set-data", on_set_data, NULL);
}

static void on_sigterm(uv_signal_t *h, int signum)
{
    uv_close((uv_handle_t *)h, NULL);
    sio_server_free(app.io);
    edge_destroy(app.edge);
}

int main(int argc, char **argv)
{
    int port = 3000;
    uint32_t recovery_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--recovery-ms") == 0)
            recovery_ms = (uint32_t)atol(argv[i + 1]);
    }
    signal(SIGPIPE, SIG_IGN);
    edge_lws_set_log(NULL);
    uv_loop_init(&app.loop);
    app.reasons = json_array();

    sio_config cfg;
    sio_config_defaults(&cfg);
    cfg.engine.ping_interval_ms = 300;
    cfg.engine.ping_timeout_ms = 200;
    cfg.connect_timeout_ms = 1000;
    cfg.engine.cors_origins = "*";
    cfg.recovery_window_ms = recovery_ms;
    app.io = sio_server_new(&app.loop, &cfg);
    setup_namespace(sio_of(app.io, "/"));
    setup_namespace(sio_of(app.io, "/custom"));
    setup_namespace(sio_of(app.io, "/dyn-*"));
    sio_namespace *guarded = sio_of(app.io, "/guarded");
    setup_namespace(guarded);
    sio_use(guarded, guard, NULL);

    edge_config ec = {.port = port};
    app.edge = edge_new(&app.loop, &ec);
    if (!app.edge || eio_server_mount(sio_server_engine(app.io), app.edge)) {
        fprintf(stderr, "sio-api-test-server: cannot listen on %d\n", port);
        return 1;
    }
    uv_signal_init(&app.loop, &app.sigterm);
    uv_signal_start(&app.sigterm, on_sigterm, SIGTERM);
    uv_run(&app.loop, UV_RUN_DEFAULT);
    uv_loop_close(&app.loop);
    json_decref(app.reasons);
    return 0;
}
