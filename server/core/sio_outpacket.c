/* sio_outpacket: encoding a packet once; see sio_outpacket.h. */
#include "sio_outpacket.h"

#include <stdlib.h>
#include <string.h>


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

void sio_outpacket_unref(sio_outpacket *p)
{
    if (!p || !refcount_put(&p->refs))
        return;
    for (uint32_t i = 0; i < p->n_frames; i++)
        if (p->frames[i])
            frame_unref(p->frames[i]);
    free(p);
}
