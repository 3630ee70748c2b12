/* sio_plain: plain WebSocket clients (eio_config.plain_path) in the
 * Socket.IO layer. Each such client is one socket of cfg.plain_namespace,
 * connected at once with its query string as auth (its input is held until
 * the middlewares admit it). Its JSON messages become Socket.IO EVENT and
 * ACK packets (protocol/plain_msg.h) and take the same way as any client's
 * (rate limit, handlers, acks); a binary message is the event
 * cfg.plain_binary_event with the bytes as its attachment. What is sent to
 * it is each packet's plain rendering, made once per packet
 * (sio_outpacket_plain): CONNECT is not shown, CONNECT_ERROR closes with
 * 1008 and its message, DISCONNECT with 1000. */
#include "sio_internal.h"

#include <string.h>

#define PLAIN_MAX_QUERY_PARAMS 64

void sio_plain_end(sio_client *c, uint16_t code, const char *text, const char *reason)
{
    eio_session_close_ws(c->conn, code, text, reason);
}

void sio_plain_open(sio_client *c)
{
    sio_server *io = c->srv;
    const char *query = eio_session_request(c->conn)->query;
    c->plain = 1;
    eio_session_hold_input(c->conn, 1);
    json_t *auth = plain_query_object(query, strlen(query), PLAIN_MAX_QUERY_PARAMS);
    if (!auth) {
        sio_plain_end(c, 1011, "server error", "transport error");
        return;
    }
    sio_packet p = {.type = SIO_CONNECT,
                    .nsp = SIO_UNCONST(char *, io->cfg.plain_namespace),
                    .id = -1,
                    .data = auth};
    sio_client_connect(c, &p);
    json_decref(auth);
}

void sio_plain_admitted(sio_socket *s)
{
    if (s->client->plain)
        eio_session_hold_input(s->client->conn, 0);
}

/* ---- from the client ------------------------------------------------------------ */

static const char *event_name(const plain_in *in)
{
    return in->kind == PLAIN_EVENT ? json_string_value(json_array_get(in->args, 0)) : NULL;
}

static void on_text(sio_client *c, const eio_packet *ep)
{
    sio_server *io = c->srv;
    plain_in in;
    if (plain_decode((const char *)ep->data, ep->len, &io->plain, &in) != PLAIN_OK) {
        sio_plain_end(c, 1007, "invalid message", "parse error");
        return;
    }
    const char *name = event_name(&in);
    if (name && sio_is_reserved_event(name)) {
        sio_plain_end(c, 1008, "unknown event", "forced server close"); /* nobody's to send */
    } else {
        sio_packet p = {in.kind == PLAIN_EVENT ? SIO_EVENT : SIO_ACK,
                        SIO_UNCONST(char *, io->cfg.plain_namespace), in.id, 0, in.args};
        sio_client_dispatch(c, &p, NULL, 0);
    }
    plain_in_clear(&in);
}

static void on_binary(sio_client *c, const eio_packet *ep)
{
    sio_server *io = c->srv;
    json_t *args = json_pack("[s{sbsi}]", io->cfg.plain_binary_event, "_placeholder", 1, "num", 0);
    frame *f = frame_new_binary(ep->data, ep->len);
    if (args && f) {
        sio_packet p = {SIO_BINARY_EVENT, SIO_UNCONST(char *, io->cfg.plain_namespace), -1, 1, args};
        sio_client_dispatch(c, &p, &f, 1);
    } else {
        sio_plain_end(c, 1011, "server error", "transport error");
    }
    json_decref(args);
    frame_unref(f);
}

void sio_plain_message(sio_client *c, const eio_packet *ep)
{
    if (ep->binary)
        on_binary(c, ep);
    else
        on_text(c, ep);
}

/* ---- to the client -------------------------------------------------------------- */

static char packet_type(const sio_outpacket *p)
{
    const frame *t = p->frames[0]; /* "4" (an Engine.IO message), then the type */
    return t->len >= 2 ? (char)frame_cbytes(t)[1] : 0;
}

static void connect_refused(eio_session *s, const frame *t)
{
    sio_packet pkt;
    const char *msg = NULL;
    if (sio_packet_decode((const char *)frame_cbytes(t) + 1, t->len - 1, NULL, &pkt) == SIO_OK)
        msg = json_string_value(json_object_get(pkt.data, "message"));
    eio_session_close_ws(s, 1008, msg ? msg : "unauthorized", "forced server close");
    sio_packet_clear(&pkt);
}

int sio_plain_send(sio_outpacket *p, eio_session *s, int is_volatile)
{
    sio_client *c = eio_session_user(s);
    switch (packet_type(p)) {
    case '0' + SIO_CONNECT:
        return 0;
    case '0' + SIO_CONNECT_ERROR:
        connect_refused(s, p->frames[0]);
        return 0;
    case '0' + SIO_DISCONNECT:
        eio_session_close_ws(s, 1000, "server disconnect", "server namespace disconnect");
        return 0;
    default:
        break;
    }
    const sio_plain_frames *r = c ? sio_outpacket_plain(p, &c->srv->plain) : NULL;
    return r ? sio_frames_send(r->frames, r->n_frames, s, is_volatile) : -1;
}

/* ---- the public side ------------------------------------------------------------- */

int sio_socket_plain(const sio_socket *s)
{
    return s->client->plain;
}

void sio_socket_end(sio_socket *s, uint16_t code, const char *reason)
{
    if (s->client->plain)
        sio_plain_end(s->client, code, reason, "forced server close");
    else
        sio_disconnect(s, 1);
}
