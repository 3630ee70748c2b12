/* sio_msgpack_client: clients of socket.io-msgpack-parser (cfg.parser
 * SIO_PARSER_MSGPACK, or SIO_PARSER_AUTO when their first packet is binary).
 *
 * Which parser a connection speaks is decided once, before its first packet is
 * read (sio_client_msgpack), and kept (plain and Socket.IO v2 clients always
 * speak the default parser); its sockets copy the answer
 * (sio_socket.msgpack) so that a broadcast reads it from the socket it already
 * touches. Each of its Engine.IO messages is one whole packet, decoded by
 * protocol/sio_msgpack.c into the sio_packet the text parser would have made,
 * its bins copied into attachment frames (as the text path copies its binary
 * messages); a text message is a "parse error". What it is sent is each
 * packet's msgpack rendering, made once per packet (sio_outpacket_msgpack). */
#include "sio_internal.h"

#include <stdlib.h>

int sio_client_msgpack(sio_client *c, const eio_packet *ep)
{
    if (c->parser_decided)
        return c->msgpack;
    c->parser_decided = 1;
    switch (c->plain || c->v2 ? SIO_PARSER_DEFAULT : c->srv->cfg.parser) {
    case SIO_PARSER_MSGPACK: c->msgpack = 1; break;
    case SIO_PARSER_AUTO: c->msgpack = ep && ep->binary; break; /* nothing can be pending yet */
    default: c->msgpack = 0; break;
    }
    return c->msgpack;
}

static void free_attachments(frame **att, uint32_t n)
{
    for (uint32_t i = 0; att && i < n; i++)
        frame_unref(att[i]);
    free(att);
}

/* Frames holding copies of the bins (NULL when there are none); -1 out of memory. */
static int attachments_of(const sio_span *bins, uint32_t n, frame ***out)
{
    *out = n ? calloc(n, sizeof(frame *)) : NULL;
    if (n && !*out)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (!((*out)[i] = frame_new_binary(bins[i].data, bins[i].len))) {
            free_attachments(*out, i);
            *out = NULL;
            return -1;
        }
    return 0;
}

void sio_msgpack_message(sio_client *c, const eio_packet *ep)
{
    sio_limits lim = {c->srv->cfg.max_attachments, SIO_MAX_NSP_LEN};
    sio_packet p;
    sio_span *bins = NULL;
    frame **att = NULL;
    if (!ep->binary || sio_msgpack_decode(ep->data, ep->len, &lim, &p, &bins) != SIO_OK) {
        eio_session_close(c->conn, "parse error");
        return;
    }
    if (attachments_of(bins, p.attachments, &att) == 0)
        sio_client_dispatch(c, &p, att, p.attachments); /* may close c: nothing below touches it */
    else
        eio_session_close(c->conn, "parse error");
    free_attachments(att, p.attachments);
    sio_packet_clear(&p);
    free(bins);
}

int sio_msgpack_send(sio_outpacket *p, eio_session *s, int is_volatile)
{
    const sio_plain_frames *r = sio_outpacket_msgpack(p);
    return r ? sio_frames_send(r->frames, r->n_frames, s, is_volatile) : -1;
}
