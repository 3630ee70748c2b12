/* A chat server on the sio C API: clients "join" a room, "say" something to it
 * (acknowledged with the number of listeners), and hear "said" from others.
 *   build/examples/sio-chat [port]     then e.g. in Node:
 *   io("http://localhost:3000").emit("join", "lobby", ack => ...)
 * Only the public headers and libsio are used: against an installed sio,
 *   cc chat.c $(pkg-config --cflags --libs sio) -o sio-chat */
#include <stdio.h>
#include <stdlib.h>

#include "sio_edge.h"
#include "sio.h"

static sio_server *io;

static void on_join(sio_socket *s, const char *event, const sio_args *args,
                    const sio_ack_handle *ack, void *ud)
{
    const char *room = json_string_value(json_array_get(args->json, 0));
    if (!room)
        return;
    sio_join(s, room);
    json_t *who = json_pack("[ss]", sio_socket_id(s), room);
    sio_args a = {.json = who};
    const char *self = sio_socket_id(s);
    sio_broadcast_opts to_room = {.rooms = &room, .n_rooms = 1, .except = &self, .n_except = 1};
    sio_broadcast(sio_socket_namespace(s), &to_room, "joined", &a);
    json_decref(who);
    if (ack) {
        json_t *ok = json_pack("[b]", 1);
        sio_args r = {.json = ok};
        sio_ack(io, ack, &r);
        json_decref(ok);
    }
}

static void on_say(sio_socket *s, const char *event, const sio_args *args,
                   const sio_ack_handle *ack, void *ud)
{
    const char *room = json_string_value(json_array_get(args->json, 0));
    json_t *text = json_array_get(args->json, 1);
    if (!room || !text)
        return;
    json_t *msg = json_pack("[{sssO}]", "from", sio_socket_id(s), "text", text);
    sio_args a = {.json = msg};
    const char *self = sio_socket_id(s);
    sio_broadcast_opts to_room = {.rooms = &room, .n_rooms = 1, .except = &self, .n_except = 1};
    int listeners = sio_broadcast(sio_socket_namespace(s), &to_room, "said", &a);
    json_decref(msg);
    if (ack) {
        json_t *n = json_pack("[i]", listeners);
        sio_args r = {.json = n};
        sio_ack(io, ack, &r);
        json_decref(n);
    }
}

static void on_bye(sio_socket *s, const char *reason, void *ud)
{
    printf("%s left: %s\n", sio_socket_id(s), reason);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    sio_config cfg;
    sio_config_defaults(&cfg);
    cfg.engine.cors_origins = "*";
    io = sio_server_new(loop, &cfg);
    sio_namespace *root = sio_of(io, "/");
    sio_on(root, "join", on_join, NULL);
    sio_on(root, "say", on_say, NULL);
    sio_on_disconnect(root, on_bye, NULL);

    edge_config ec = {.port = argc > 1 ? atoi(argv[1]) : 3000};
    edge *e = edge_new(loop, &ec);
    if (!e || eio_server_mount(sio_server_engine(io), e))
        return fprintf(stderr, "cannot listen on %d\n", ec.port), 1;
    printf("chat on port %d\n", edge_port(e));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
