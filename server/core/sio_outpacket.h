/* sio_outpacket: one Socket.IO packet encoded once, ready for any number of
 * sessions: the text frame ("4" + packet) followed by its binary attachments.
 *
 * Immutable and reference-counted (safe to hand between threads, like frame):
 * whichever thread encodes it, the edge queues its frames by reference on
 * every recipient (socketio/ sends it): no per-recipient encoding or copy. */
#ifndef SIO_OUTPACKET_H
#define SIO_OUTPACKET_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "frame.h"
#include "sio_packet.h"

/* A binary attachment (the same type as sio.h's). */
#ifndef SIO_BIN_DEFINED
#define SIO_BIN_DEFINED
typedef struct sio_bin {
    const void *data;
    size_t len;
} sio_bin;
#endif

typedef struct sio_outpacket {
    atomic_uint refs;
    uint32_t n_frames;  /* 1 + attachments */
    frame *frames[];
} sio_outpacket;

/* Encodes `type` for namespace `nsp` with ack `id` (-1: none) and `data`
 * (borrowed; may hold placeholders for `bins`). With bins, EVENT becomes
 * BINARY_EVENT and ACK becomes BINARY_ACK. Returns one reference, or NULL. */
sio_outpacket *sio_outpacket_encode(const char *nsp, sio_packet_type type, int64_t id,
                                    const json_t *data, const sio_bin *bins, size_t n_bins);

static inline sio_outpacket *sio_outpacket_ref(sio_outpacket *p)
{
    refcount_get(&p->refs);
    return p;
}
void sio_outpacket_unref(sio_outpacket *p);

#endif
