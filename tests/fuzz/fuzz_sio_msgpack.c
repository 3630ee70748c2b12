/* fuzz_sio_msgpack: libFuzzer target over the socket.io-msgpack-parser decoder
 * (protocol/sio_msgpack.c).
 *
 * Malformed input returns a negative status and owns nothing. A decoded packet
 * keeps the limits (namespace, attachments), every bin is a view inside the
 * input named by exactly one placeholder, an event name is never reserved, and
 * BINARY_* comes with attachments only. What decodes is encoded; that decodes
 * again to the same header and bins and encodes to the same bytes (a fixed
 * point after one round); and its text form (what sio keeps and renders from)
 * decodes to the same header. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio_msgpack.h"

static const sio_limits limits = {10, 256};

static int same_header(const sio_packet *a, const sio_packet *b)
{
    return a->type == b->type && a->id == b->id && a->attachments == b->attachments &&
           strcmp(a->nsp, b->nsp) == 0 && (a->data == NULL) == (b->data == NULL);
}

static void inspect(const sio_packet *p, const sio_span *bins, const uint8_t *in, size_t len)
{
    const char *name = sio_packet_event_name(p);
    int binary = p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK;
    if ((name && sio_is_reserved_event(name)) || p->type > SIO_BINARY_ACK)
        abort();
    if (binary != (p->attachments > 0) || p->attachments > limits.max_attachments || binary != (bins != NULL))
        abort();
    if (strlen(p->nsp) > limits.max_nsp_len || p->nsp[0] != '/')
        abort();
    if (binary && sio_count_placeholders(p->data, p->attachments) != (int)p->attachments)
        abort();
    for (uint32_t i = 0; i < p->attachments; i++)
        if (bins[i].data < in || bins[i].len > len || bins[i].data + bins[i].len > in + len)
            abort();
}

static void same_bins(const sio_span *a, const sio_span *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i].len != b[i].len || (a[i].len && memcmp(a[i].data, b[i].data, a[i].len)))
            abort();
}

static void roundtrip(const sio_packet *p, const sio_span *bins)
{
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    sio_packet again;
    sio_span *again_bins;
    if (sio_msgpack_encode(p, bins, p->attachments, &first) ||
        sio_msgpack_decode(first.data, first.len, &limits, &again, &again_bins) != SIO_OK)
        abort();
    if (!same_header(p, &again))
        abort();
    same_bins(bins, again_bins, p->attachments);
    if (sio_msgpack_encode(&again, again_bins, again.attachments, &second) ||
        second.len != first.len || memcmp(second.data, first.data, first.len) != 0)
        abort();
    sio_packet_clear(&again);
    free(again_bins);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

static void as_text(const sio_packet *p)
{
    bytebuf text = BYTEBUF_INIT;
    sio_packet t;
    if (sio_packet_encode(p, &text) ||
        sio_packet_decode((const char *)text.data, text.len, &limits, &t) != SIO_OK)
        abort();
    if (!same_header(p, &t))
        abort();
    sio_packet_clear(&t);
    bytebuf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio_packet p;
    sio_span *bins;
    sio_status st = sio_msgpack_decode(data, size, &limits, &p, &bins);
    if (st != SIO_OK) {
        if (st >= 0 || p.nsp || p.data || bins)
            abort();
        return 0;
    }
    inspect(&p, bins, data, size);
    roundtrip(&p, bins);
    as_text(&p);
    sio_packet_clear(&p);
    free(bins);
    return 0;
}
