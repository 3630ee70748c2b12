/* sio_server: the Socket.IO layer over one eio_server. Each Engine.IO session
 * gets a sio_client that decodes packets (reassembling binary ones from their
 * attachments), connects namespaces, and dispatches to its sockets. */
#include "sio_internal.h"

#include <stdlib.h>
#include <string.h>

void sio_config_defaults(sio_config *c)
{
    eio_config_defaults(&c->engine);
    c->engine.path = "/socket.io/";
    c->connect_timeout_ms = 45000;
    c->max_attachments = 10;
    c->event_rate = 0;
    c->event_burst = 0;
    c->recovery_window_ms = 0;
    c->recovery_max_packets = 150000;
    c->recovery_max_bytes = (size_t)64 << 20;
    c->plain_namespace = "/";
    c->plain_event_field = "event";
    c->plain_data_field = "data";
    c->plain_id_field = "id";
    c->plain_binary_event = "binary";
    c->parser = SIO_PARSER_DEFAULT;
}

/* ---- clients ---------------------------------------------------------------- */

static void clear_pending(sio_client *c)
{
    if (c->has_pending)
        sio_packet_clear(&c->pending);
    for (uint32_t i = 0; i < c->n_attachments; i++)
        frame_unref(c->attachments[i]);
    free(c->attachments);
    c->attachments = NULL;
    c->n_attachments = 0;
    c->has_pending = 0;
}

static void client_close(sio_client *c, const char *reason)
{
    eio_session_close(c->conn, reason);
}

static sio_socket *client_socket(sio_client *c, const char *nsp)
{
    for (sio_socket *s = c->sockets; s; s = s->client_next)
        if (strcmp(s->nsp->name, nsp) == 0)
            return s;
    return NULL;
}

static void send_connect_error(sio_client *c, const char *nsp, const char *message)
{
    json_t *data = c->v2 ? sio_v2_connect_error(message, NULL) : json_pack("{ss}", "message", message);
    sio_outpacket *p = data ? sio_outpacket_encode(nsp, SIO_CONNECT_ERROR, -1, data, NULL, 0) : NULL;
    if (p)
        sio_outpacket_send(p, c->conn, 0);
    sio_outpacket_unref(p);
    json_decref(data);
}

void sio_client_connect(sio_client *c, sio_packet *p)
{
    sio_server *io = c->srv;
    sio_namespace *nsp = sio_namespace_resolve(io, p->nsp);
    if (!nsp) {
        send_connect_error(c, p->nsp, "Invalid namespace");
        return;
    }
    if (sio_connect_pending(c, p->nsp)) { /* a second CONNECT while the first waits */
        sio_namespace_release(nsp);
        return;
    }
    json_t *auth = json_incref(p->data ? p->data : io->no_auth);
    if (!c->plain && !c->v2 && sio_recovery_start(c, p->nsp, auth)) { /* answered when the store has looked */
        json_decref(auth);
        sio_namespace_release(nsp);
        return;
    }
    sio_socket *s = sio_socket_new(nsp, c, auth);
    json_decref(auth);
    if (s)
        sio_socket_connect(s, NULL); /* a connected socket disarms the connect timer */
    sio_namespace_release(nsp); /* a child nobody was admitted to goes */
}

static double bucket_size(const sio_config *cfg)
{
    return cfg->event_burst ? cfg->event_burst : (cfg->event_rate < 1 ? 1 : cfg->event_rate);
}

/* Token bucket of the connection: 1 when one more packet may pass. Every
 * packet counts (CONNECT may cost a key verification and a Redis SUBSCRIBE). */
static int take_token(sio_client *c)
{
    const sio_config *cfg = &c->srv->cfg;
    if (cfg->event_rate <= 0)
        return 1;
    uint64_t now = uv_now(c->srv->loop);
    c->tokens += (double)(now - c->refilled_ms) * cfg->event_rate / 1000.0;
    if (c->tokens > bucket_size(cfg))
        c->tokens = bucket_size(cfg);
    c->refilled_ms = now;
    if (c->tokens < 1)
        return 0;
    c->tokens -= 1;
    return 1;
}

/* Past the rate: every socket is told "io server disconnect" (socket.io-client
 * then does not reconnect on its own), and the connection ends. */
static void rate_limited(sio_client *c)
{
    c->srv->rate_limited++;
    if (c->plain)
        sio_plain_end(c, 1008, "rate limit", "rate limit");
    for (sio_socket *s = c->sockets; s; s = s->client_next)
        sio_socket_send_packet(s, SIO_DISCONNECT, -1, NULL, NULL, 0);
    client_close(c, "rate limit");
}

/* What socket.io's Client.ondecoded does with one complete packet. */
void sio_client_dispatch(sio_client *c, sio_packet *p, frame **att, uint32_t n_att)
{
    if (!take_token(c)) {
        rate_limited(c);
        return;
    }
    if (c->v2 && sio_v2_packet(p)) {
        client_close(c, "parse error");
        return;
    }
    sio_socket *s = client_socket(c, p->nsp);
    if (!s && p->type == SIO_CONNECT) {
        sio_client_connect(c, p);
    } else if (s && p->type != SIO_CONNECT && p->type != SIO_CONNECT_ERROR) {
        sio_socket_on_packet(s, p, att, n_att);
    } else {
        client_close(c, "forced server close");
    }
}

static void on_text(sio_client *c, const eio_packet *ep)
{
    sio_limits lim = {c->srv->cfg.max_attachments, SIO_MAX_NSP_LEN};
    sio_packet p;
    if (c->has_pending) { /* text while reassembling: socket.io-parser rejects it */
        client_close(c, "parse error");
        return;
    }
    if (sio_packet_decode((const char *)ep->data, ep->len, &lim, &p) != SIO_OK) {
        client_close(c, "parse error");
        return;
    }
    if ((p.type == SIO_BINARY_EVENT || p.type == SIO_BINARY_ACK) && p.attachments > 0) {
        c->pending = p;
        c->has_pending = 1;
        c->attachments = calloc(p.attachments, sizeof(frame *));
        if (!c->attachments) {
            clear_pending(c);
            client_close(c, "parse error");
        }
        return;
    }
    sio_client_dispatch(c, &p, NULL, 0);
    sio_packet_clear(&p);
}

static void on_binary(sio_client *c, const eio_packet *ep)
{
    if (!c->has_pending) {
        client_close(c, "parse error");
        return;
    }
    frame *f = frame_new_binary(ep->data, ep->len);
    if (!f) {
        clear_pending(c);
        client_close(c, "parse error");
        return;
    }
    c->attachments[c->n_attachments++] = f;
    if (c->n_attachments < c->pending.attachments)
        return;
    /* complete: hand over, then reset before dispatching (handlers may re-enter) */
    sio_packet p = c->pending;
    frame **att = c->attachments;
    uint32_t n = c->n_attachments;
    c->has_pending = 0;
    c->attachments = NULL;
    c->n_attachments = 0;
    sio_client_dispatch(c, &p, att, n);
    sio_packet_clear(&p);
    for (uint32_t i = 0; i < n; i++)
        frame_unref(att[i]);
    free(att);
}

static void on_open(void *ctx, eio_session *conn)
{
    sio_server *io = ctx;
    sio_client *c = calloc(1, sizeof(*c));
    if (!c) {
        eio_session_close(conn, "transport error");
        return;
    }
    c->srv = io;
    c->conn = conn;
    c->tokens = bucket_size(&io->cfg);
    c->refilled_ms = uv_now(io->loop);
    eio_session_set_user(conn, c);
    deadline_timer_arm(&io->timer, &io->connect_due, &c->connect_timer);
    if (eio_session_transport(conn) == EIO_TRANSPORT_PLAIN)
        sio_plain_open(c);
    else if (eio_session_protocol(conn) == 3) {
        c->v2 = 1;
        sio_v2_open(c);
    }
}

static void on_message(void *ctx, eio_session *conn, const eio_packet *ep)
{
    sio_client *c = eio_session_user(conn);
    if (!c)
        return;
    if (c->plain)
        sio_plain_message(c, ep);
    else if (sio_client_msgpack(c, ep))
        sio_msgpack_message(c, ep);
    else if (ep->binary)
        on_binary(c, ep);
    else
        on_text(c, ep);
}

static void on_close(void *ctx, eio_session *conn, const char *reason)
{
    sio_client *c = eio_session_user(conn);
    if (!c)
        return;
    eio_session_set_user(conn, NULL);
    deadline_disarm(&c->connect_timer);
    sio_recovery_forget(c);
    sio_connect_abandon(c);
    while (c->sockets)
        sio_socket_close(c->sockets, reason);
    clear_pending(c);
    free(c);
}

static void on_connect_due(deadline_entry *e, void *ctx)
{
    sio_client *c = (sio_client *)((char *)e - offsetof(sio_client, connect_timer));
    if (!c->sockets)
        client_close(c, "forced server close");
}

/* ---- server ----------------------------------------------------------------- */

sio_server *sio_server_new(uv_loop_t *loop, const sio_config *cfg)
{
    sio_server *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    io->loop = loop;
    io->cfg = *cfg;
    io->plain = (plain_fields){cfg->plain_event_field, cfg->plain_data_field, cfg->plain_id_field};
    io->no_auth = json_object();
    hashmap_init(&io->namespaces);
    hashmap_init(&io->by_id);
    hashmap_init(&io->pending);
    hashmap_init(&io->connects);
    uv_timer_init(loop, &io->reaper);
    io->reaper.data = io;
    uv_timer_init(loop, &io->dirty_flush);
    io->dirty_flush.data = io;
    sio_recovery_store mem;
    if (cfg->recovery_window_ms && sio_recovery_memory(loop, cfg, &mem) == 0)
        sio_server_set_recovery_store(io, &mem);
    deadline_list_init(&io->connect_due, cfg->connect_timeout_ms, on_connect_due, io);
    deadline_timer_init(&io->timer, loop);
    deadline_timer_add_list(&io->timer, &io->connect_due);
    eio_handler h = {.ctx = io, .on_open = on_open, .on_message = on_message, .on_close = on_close};
    io->engine = eio_server_new(loop, &cfg->engine, &h);
    if (!io->engine) {
        sio_server_free(io);
        return NULL;
    }
    return io;
}

static void free_after_close(uv_handle_t *h)
{
    sio_server *io = h->data;
    if (--io->closing_handles == 0)
        free(io);
}

static void free_namespaces(hashmap *m)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(m, &it, &k, &klen, &v))
        sio_namespace_free(v);
    hashmap_free(m);
}

void sio_server_free(sio_server *io)
{
    if (!io)
        return;
    eio_server_free(io->engine); /* closes every client and socket */
    sio_server_set_recovery_store(io, NULL);
    free_namespaces(&io->namespaces); /* reaped children are in it still */
    free_namespaces(&io->pending);
    hashmap_free(&io->by_id);
    hashmap_free(&io->connects); /* empty: every client was closed */
    free(io->reap);
    json_decref(io->no_auth);
    for (sio_namespace *p = io->patterns, *next; p; p = next) {
        next = p->next_pattern;
        sio_namespace_free(p);
    }
    io->timer.timer.data = io;
    io->closing_handles = 3;
    deadline_timer_close(&io->timer, free_after_close);
    uv_timer_stop(&io->reaper);
    uv_close((uv_handle_t *)&io->reaper, free_after_close);
    uv_timer_stop(&io->dirty_flush);
    uv_close((uv_handle_t *)&io->dirty_flush, free_after_close);
}

eio_server *sio_server_engine(sio_server *io)
{
    return io->engine;
}

size_t sio_server_socket_count(const sio_server *io)
{
    return io->socket_count;
}

uint64_t sio_server_rate_limited(const sio_server *io)
{
    return io->rate_limited;
}
