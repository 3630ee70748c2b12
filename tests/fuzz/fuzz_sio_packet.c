/* fuzz_sio_packet: libFuzzer target over the Socket.IO packet decoder.
 *
 * Whatever decodes is encoded; the encoding must decode again to the same
 * header fields and encode to the same bytes (the codec is a fixed point after
 * one round). Malformed input must return a negative status and leave nothing
 * owned behind. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio_packet.h"

static const sio_limits limits = {10, 256};

static int same_header(const sio_packet *a, const sio_packet *b)
{
    return a->type == b->type && a->id == b->id && a->attachments == b->attachments &&
           strcmp(a->nsp, b->nsp) == 0 && (a->data == NULL) == (b->data == NULL);
}

/* Exercises the accessors on a decoded packet. */
static void inspect(const sio_packet *p)
{
    const char *name = sio_packet_event_name(p);
    if (name && sio_is_reserved_event(name))
        abort();
    if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK) {
        if (p->data && sio_count_placeholders(p->data, p->attachments) < 0)
            abort();
        if (p->attachments < 1 || p->attachments > limits.max_attachments)
            abort();
    }
    if (strlen(p->nsp) > limits.max_nsp_len || p->nsp[0] != '/')
        abort();
}

static void roundtrip(const sio_packet *p)
{
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    if (sio_packet_encode(p, &first))
        abort();
    sio_packet again;
    if (sio_packet_decode((const char *)first.data, first.len, &limits, &again) != SIO_OK)
        abort();
    if (!same_header(p, &again))
        abort();
    if (sio_packet_encode(&again, &second))
        abort();
    if (second.len != first.len || memcmp(second.data, first.data, first.len) != 0)
        abort();
    sio_packet_clear(&again);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio_packet p;
    sio_status st = sio_packet_decode((const char *)data, size, &limits, &p);
    if (st != SIO_OK) {
        if (st >= 0 || p.nsp || p.data)
            abort();
        return 0;
    }
    inspect(&p);
    roundtrip(&p);
    sio_packet_clear(&p);
    return 0;
}
