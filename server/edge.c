/* edge: lws context on the caller's libuv loop, and the one lws protocol
 * callback that routes HTTP and WebSocket events to the mounted eio_servers. */
#include "edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio_internal.h"

#define EDGE_MAX_MOUNTS 4

typedef struct edge_mount_point {
    const char *path;
    size_t len;
    eio_server *srv;
} edge_mount_point;

struct edge {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    uv_loop_t *loop;
    edge_mount_point mounts[EDGE_MAX_MOUNTS];
    int n_mounts;
    edge_http_fn http_fn;
    void *http_ctx;
    struct lws_protocols protocols[2];
    void *foreign_loops[1];
};

static eio_server *route(edge *e, const char *path)
{
    for (int i = 0; i < e->n_mounts; i++)
        if (strncmp(path, e->mounts[i].path, e->mounts[i].len) == 0)
            return e->mounts[i].srv;
    return NULL;
}

static int plain_http(edge *e, struct lws *wsi, eio_conn *c, const char *path)
{
    char body[2048];
    size_t len = 0;
    unsigned status = 404;
    const char *ctype = "text/plain";
    memset(c, 0, sizeof(*c));
    c->kind = CONN_DONE;
    if (e->http_fn && e->http_fn(e->http_ctx, wsi, path, &status, &ctype, body, &len))
        return eio_http_respond(wsi, c, status, ctype, NULL, body, len);
    static const char not_found[] = "Not Found";
    return eio_http_respond(wsi, c, 404, "text/plain", NULL, not_found, sizeof(not_found) - 1);
}

static int edge_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    eio_conn *c = user;
    struct lws_context *ctx = wsi ? lws_get_context(wsi) : NULL;
    edge *e = ctx ? lws_context_user(ctx) : NULL;

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        eio_server *srv = route(e, in);
        if (srv)
            return eio_polling_http(srv, wsi, c, in);
        return plain_http(e, wsi, c, in);
    }
    case LWS_CALLBACK_HTTP_BODY:
        return c->srv ? eio_polling_body(c, wsi, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c->srv)
            return eio_polling_body_done(c, wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c->srv ? eio_polling_writable(c, wsi) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c && c->srv)
            eio_polling_closed(c, wsi);
        return 0;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        char uri[512];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
            return -1;
        eio_server *srv = route(e, uri);
        return srv ? eio_ws_confirm_upgrade(srv, wsi) : -1;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[512];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
            return -1;
        eio_server *srv = route(e, uri);
        return srv ? eio_ws_filter(srv, wsi, c) : -1;
    }
    case LWS_CALLBACK_ADD_HEADERS:
        if (c && c->kind == CONN_WS_HANDSHAKE)
            return eio_ws_add_headers(c, wsi, in);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return eio_ws_established(c, wsi);
    case LWS_CALLBACK_RECEIVE:
        return eio_ws_receive(c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return eio_ws_writable(c, wsi);
    case LWS_CALLBACK_CLOSED:
        eio_ws_closed(c, wsi);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

edge *edge_new(uv_loop_t *loop, const edge_config *cfg)
{
    edge *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->loop = loop;
    e->protocols[0] = (struct lws_protocols){
        .name = "engine.io",
        .callback = edge_callback,
        .per_session_data_size = sizeof(eio_conn),
        .rx_buffer_size = 512, /* per connection; larger messages arrive in pieces, reassembled in eio_websocket.c */
    };
    e->foreign_loops[0] = loop;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = cfg->bind_addr;
    info.protocols = e->protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
    info.foreign_loops = e->foreign_loops;
    info.user = e;
    unsigned hdr = cfg->max_header_bytes ? cfg->max_header_bytes : 16384;
    info.max_http_header_data = (unsigned short)(hdr > 65535 ? 65535 : hdr);
    info.max_http_header_pool = 512;
    info.keepalive_timeout = 65;
    info.timeout_secs = 20;
    info.vhost_name = "sio";
    if (cfg->max_connections)
        info.fd_limit_per_thread = cfg->max_connections + 16;
    e->ctx = lws_create_context(&info);
    if (!e->ctx) {
        free(e);
        return NULL;
    }
    e->vhost = lws_get_vhost_by_name(e->ctx, "sio");
    if (!e->vhost || lws_get_vhost_listen_port(e->vhost) <= 0) { /* e.g. port in use */
        lws_context_destroy(e->ctx);
        free(e);
        return NULL;
    }
    return e;
}

int edge_mount(edge *e, eio_server *srv)
{
    if (e->n_mounts == EDGE_MAX_MOUNTS)
        return -1;
    const char *path = eio_server_config(srv)->path;
    e->mounts[e->n_mounts++] = (edge_mount_point){path, strlen(path), srv};
    return 0;
}

void edge_set_http_handler(edge *e, edge_http_fn fn, void *ctx)
{
    e->http_fn = fn;
    e->http_ctx = ctx;
}

int edge_port(const edge *e)
{
    return e->vhost ? lws_get_vhost_listen_port(e->vhost) : -1;
}

void edge_destroy(edge *e)
{
    if (!e)
        return;
    lws_context_destroy(e->ctx);
    free(e);
}
