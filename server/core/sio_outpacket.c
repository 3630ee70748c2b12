/* sio_outpacket: encoding a packet once; see sio_outpacket.h. */
#include "sio_outpacket.h"

#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"


static sio_outpacket *alloc_packet(uint32_t n)
{
    sio_outpacket *p = calloc(1, sizeof(*p) + n * sizeof(frame *));
    if (p) {
        refcount_init(&p->refs);
        p->n_frames = n;
    }
    return p;
}

static frame *encode_text(const char *nsp, sio_packet_type type, int64_t id, const json_t *data,
                          size_t n_bins)
{
    sio_packet pkt = {
        .type = type,
        .nsp = SIO_UNCONST(char *, nsp ? nsp : "/"),
        .id = id,
        .attachments = (uint32_t)n_bins,
        .data = SIO_UNCONST(json_t *, data),
    };
    if (n_bins && type == SIO_EVENT)
        pkt.type = SIO_BINARY_EVENT;
    if (n_bins && type == SIO_ACK)
        pkt.type = SIO_BINARY_ACK;
    bytebuf text = BYTEBUF_INIT;
    frame *f = NULL;
    if (sio_packet_encode(&pkt, &text) == 0)
        f = frame_new_text('4', text.data, text.len);
    bytebuf_free(&text);
    return f;
}

sio_outpacket *sio_outpacket_encode(const char *nsp, sio_packet_type type, int64_t id,
                                    const json_t *data, const sio_bin *bins, size_t n_bins)
{
    sio_outpacket *p = alloc_packet((uint32_t)(1 + n_bins));
    if (!p)
        return NULL;
    p->frames[0] = encode_text(nsp, type, id, data, n_bins);
    for (size_t i = 0; i < n_bins && p->frames[0]; i++)
        if (!(p->frames[1 + i] = frame_new_binary(bins[i].data, bins[i].len)))
            break;
    for (uint32_t i = 0; i < p->n_frames; i++)
        if (!p->frames[i]) {
            sio_outpacket_unref(p);
            return NULL;
        }
    return p;
}

static sio_plain_frames *plain_alloc(uint32_t n)
{
    sio_plain_frames *r = calloc(1, sizeof(*r) + n * sizeof(frame *));
    if (r)
        r->n_frames = n;
    return r;
}

static void plain_free(sio_plain_frames *r)
{
    for (uint32_t i = 0; r && i < r->n_frames; i++)
        frame_unref(r->frames[i]);
    free(r);
}

static int is_event_or_ack(sio_packet_type t)
{
    return t == SIO_EVENT || t == SIO_BINARY_EVENT || t == SIO_ACK || t == SIO_BINARY_ACK;
}

/* The text, then the attachments as they are (the same binary frames). */
static sio_plain_frames *plain_text(const sio_outpacket *p, const sio_packet *pkt,
                                    const plain_fields *f)
{
    bytebuf text = BYTEBUF_INIT;
    sio_plain_frames *r = NULL;
    if (plain_encode(pkt->type, pkt->id, pkt->data, pkt->attachments, p->offset_last, f, &text) == 0 &&
        (r = plain_alloc(p->n_frames)) && !(r->frames[0] = frame_new_ws(WS_OP_TEXT, text.data, text.len))) {
        r->n_frames = 0;
        plain_free(r);
        r = NULL;
    }
    for (uint32_t i = 1; r && i < p->n_frames; i++)
        r->frames[i] = frame_ref(p->frames[i]);
    bytebuf_free(&text);
    return r;
}

static sio_plain_frames *plain_render(const sio_outpacket *p, const plain_fields *f)
{
    const frame *t = p->frames[0];
    sio_limits lim = {p->n_frames, 1024};
    sio_packet pkt;
    if (t->len < 2 || sio_packet_decode((const char *)frame_cbytes(t) + 1, t->len - 1, &lim, &pkt))
        return plain_alloc(0);
    sio_plain_frames *r;
    if (!is_event_or_ack(pkt.type) || pkt.attachments != p->n_frames - 1) {
        r = plain_alloc(0);
    } else if (pkt.id < 0 && plain_single_binary(pkt.type, pkt.data, pkt.attachments, p->offset_last)) {
        if ((r = plain_alloc(1)))
            r->frames[0] = frame_ref(p->frames[1]);
    } else if (!(r = plain_text(p, &pkt, f))) {
        r = plain_alloc(0); /* cannot be written: tried once per packet, not per recipient */
    }
    sio_packet_clear(&pkt);
    return r;
}

static atomic_ulong plain_renders; /* process-wide: what /metrics shows */

unsigned long sio_outpacket_plain_renders(void)
{
    return atomic_load(&plain_renders);
}

/* Stores a fresh rendering `r` in `slot` unless one is there already: the
 * first stored wins (another thread may have made its own meanwhile). */
static const sio_plain_frames *store_once(_Atomic(sio_plain_frames *) *slot, sio_plain_frames *r,
                                          atomic_ulong *renders)
{
    sio_plain_frames *none = NULL;
    if (!r)
        return NULL;
    atomic_fetch_add(renders, 1);
    if (atomic_compare_exchange_strong(slot, &none, r))
        return r;
    plain_free(r);
    return none;
}

const sio_plain_frames *sio_outpacket_plain(sio_outpacket *p, const plain_fields *f)
{
    sio_plain_frames *r = atomic_load(&p->plain);
    return r ? r : store_once(&p->plain, plain_render(p, f), &plain_renders);
}

/* ---- the msgpack rendering ------------------------------------------------------ */

static atomic_ulong msgpack_renders;

unsigned long sio_outpacket_msgpack_renders(void)
{
    return atomic_load(&msgpack_renders);
}

/* The packet with its attachments (frames 1..) as bins, in one binary frame. */
static sio_plain_frames *msgpack_frame(const sio_outpacket *p, const sio_packet *pkt)
{
    uint32_t n = p->n_frames - 1;
    sio_span *bins = n ? malloc(n * sizeof(*bins)) : NULL;
    bytebuf out = BYTEBUF_INIT;
    sio_plain_frames *r = NULL;
    for (uint32_t i = 0; bins && i < n; i++)
        bins[i] = (sio_span){frame_cbytes(p->frames[1 + i]), p->frames[1 + i]->len};
    if ((bins || !n) && sio_msgpack_encode(pkt, bins, n, &out) == 0 && (r = plain_alloc(1)) &&
        !(r->frames[0] = frame_new_binary(out.data, out.len))) {
        free(r);
        r = NULL;
    }
    free(bins);
    bytebuf_free(&out);
    return r;
}

static sio_plain_frames *msgpack_render(const sio_outpacket *p)
{
    const frame *t = p->frames[0];
    sio_limits lim = {p->n_frames, 1024};
    sio_packet pkt;
    if (t->len < 2 || sio_packet_decode((const char *)frame_cbytes(t) + 1, t->len - 1, &lim, &pkt))
        return plain_alloc(0);
    sio_plain_frames *r = msgpack_frame(p, &pkt);
    sio_packet_clear(&pkt);
    return r ? r : plain_alloc(0); /* cannot be written: tried once per packet */
}

sio_outpacket *sio_outpacket_encode_msgpack(const char *nsp, sio_packet_type type, int64_t id,
                                            const json_t *data, const sio_bin *bins, size_t n_bins)
{
    sio_outpacket *p = sio_outpacket_encode(nsp, type, id, data, bins, n_bins);
    sio_packet pkt = {.type = n_bins && type == SIO_EVENT ? SIO_BINARY_EVENT
                              : n_bins && type == SIO_ACK ? SIO_BINARY_ACK : type,
                      .nsp = SIO_UNCONST(char *, nsp ? nsp : "/"),
                      .id = id,
                      .attachments = (uint32_t)n_bins,
                      .data = SIO_UNCONST(json_t *, data)};
    if (p)
        store_once(&p->msgpack, msgpack_frame(p, &pkt), &msgpack_renders);
    return p; /* without a rendering (out of memory), sio_outpacket_msgpack() tries again */
}

const sio_plain_frames *sio_outpacket_msgpack(sio_outpacket *p)
{
    sio_plain_frames *r = atomic_load(&p->msgpack);
    return r ? r : store_once(&p->msgpack, msgpack_render(p), &msgpack_renders);
}

void sio_outpacket_unref(sio_outpacket *p)
{
    if (!p || !refcount_put(&p->refs))
        return;
    plain_free(atomic_load(&p->plain));
    plain_free(atomic_load(&p->msgpack));
    for (uint32_t i = 0; i < p->n_frames; i++)
        if (p->frames[i])
            frame_unref(p->frames[i]);
    free(p);
}
