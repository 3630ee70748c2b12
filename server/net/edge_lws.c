/* edge_lws: the libwebsockets context of the edge and the callback that
 * hands each raw connection's events to conn.c. See edge_lws.h. */
#include "edge_lws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>


static const char edge_protocol[] = "sio-edge";

struct edge_lws {
    edge_lws_events ev;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];
    void *foreign_loops[1];
};

static int edge_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    edge_lws *l = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT:
        l->ev.adopt(l->ev.ctx, user, wsi);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        return l->ev.readable(user, in, len);
    case LWS_CALLBACK_RAW_WRITEABLE:
        l->ev.writable(user);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE:
        l->ev.closed(user);
        return 0;
    default:
        return 0;
    }
}

edge_lws *edge_lws_new(uv_loop_t *loop, const char *iface, int port, unsigned max_connections,
                       size_t conn_size, const edge_lws_events *ev)
{
    edge_lws *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->ev = *ev;
    l->protocols[0] = (struct lws_protocols){
        .name = edge_protocol,
        .callback = edge_callback,
        .per_session_data_size = conn_size,
        .tx_packet_size = 1 << 20, /* lws would otherwise split writes at the rx size */
    };
    l->foreign_loops[0] = loop;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = iface;
    info.protocols = l->protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG |
                   LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = edge_protocol;
    info.foreign_loops = l->foreign_loops;
    info.user = l;
    info.pt_serv_buf_size = 65536; /* the read buffer, one per thread */
    info.vhost_name = "sio";
    if (max_connections)
        info.fd_limit_per_thread = max_connections + 16;
    l->ctx = lws_create_context(&info);
    l->vhost = l->ctx ? lws_get_vhost_by_name(l->ctx, "sio") : NULL;
    if (!l->vhost || lws_get_vhost_listen_port(l->vhost) <= 0) { /* e.g. port in use */
        edge_lws_destroy(l);
        return NULL;
    }
    return l;
}

int edge_lws_port(const edge_lws *l)
{
    return lws_get_vhost_listen_port(l->vhost);
}

void edge_lws_destroy(edge_lws *l)
{
    if (!l)
        return;
    if (l->ctx)
        lws_context_destroy(l->ctx);
    free(l);
}

/* lws_write() returns n once it wrote or kept everything; but when it already
 * holds unsent bytes it appends these and returns how much of the *held* bytes
 * it managed to send, maybe 0 (lws 4.1 lws_issue_raw): there only < 0 fails. */
int edge_lws_write(struct lws *wsi, const void *p, size_t n)
{
    int behind = lws_partial_buffered(wsi);
    /* lws_write() takes a non-const buffer; with LWS_WRITE_RAW it does not write to it */
    int w = lws_write(wsi, (unsigned char *)(uintptr_t)p, n, LWS_WRITE_RAW);
    return w < 0 || (!behind && w < (int)n) ? -1 : 0;
}

int edge_lws_buffered(struct lws *wsi)
{
    return lws_partial_buffered(wsi);
}

int edge_lws_fd(struct lws *wsi)
{
    return lws_get_socket_fd(wsi);
}

void edge_lws_kill_now(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

void edge_lws_peer(struct lws *wsi, char *out, size_t len)
{
    out[0] = '\0';
    lws_get_peer_simple(wsi, out, len);
}

void edge_lws_read_enable(struct lws *wsi, int on)
{
    lws_rx_flow_control(wsi, on);
}

void edge_lws_set_log(void (*emit)(int level, const char *line))
{
    lws_set_log_level(LLL_ERR | LLL_WARN, emit);
}
