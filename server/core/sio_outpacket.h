/* sio_outpacket: one Socket.IO packet encoded once, ready for any number of
 * sessions: the text frame ("4" + packet) followed by its binary attachments.
 *
 * Immutable and reference-counted (safe to hand between threads, like frame):
 * whichever thread encodes it, the edge queues its frames by reference on
 * every recipient (socketio/ sends it): no per-recipient encoding or copy.
 * Plain WebSocket clients get a second rendering, and socket.io-msgpack-parser
 * clients a third, each made once per packet at its first recipient. */
#ifndef SIO_OUTPACKET_H
#define SIO_OUTPACKET_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "frame.h"
#include "plain_msg.h"
#include "sio_msgpack.h"
#include "sio_packet.h"

/* A binary attachment (the same type as sio.h's). */
#ifndef SIO_BIN_DEFINED
#define SIO_BIN_DEFINED
typedef struct sio_bin {
    const void *data;
    size_t len;
} sio_bin;
#endif

/* The packet as plain WebSocket clients get it (protocol/plain_msg.h): one
 * text frame and the attachments, or one bare binary frame; no frame at all
 * for what they do not see (CONNECT). */
typedef struct sio_plain_frames {
    uint32_t n_frames;
    frame *frames[];
} sio_plain_frames;

typedef struct sio_outpacket {
    atomic_uint refs;
    uint8_t offset_last; /* the last argument is a recovery offset (set by the maker) */
    /* Made at the first plain recipient, then shared like the frames; freed
     * with the packet. The only field set after the packet is shared: once,
     * atomically (the first rendering stored wins). */
    _Atomic(sio_plain_frames *) plain;
    /* The same for msgpack clients: one binary frame (none when the packet
     * cannot be written so). Made, stored and freed like `plain`. */
    _Atomic(sio_plain_frames *) msgpack;
    uint32_t n_frames;  /* 1 + attachments */
    frame *frames[];
} sio_outpacket;

/* Encodes `type` for namespace `nsp` with ack `id` (-1: none) and `data`
 * (borrowed; may hold placeholders for `bins`). With bins, EVENT becomes
 * BINARY_EVENT and ACK becomes BINARY_ACK. Returns one reference, or NULL. */
sio_outpacket *sio_outpacket_encode(const char *nsp, sio_packet_type type, int64_t id,
                                    const json_t *data, const sio_bin *bins, size_t n_bins);

/* The rendering for plain clients with the field names `f`, made at the
 * first call and kept: every later call gets that one, whatever its `f` (a
 * packet is sent by one sio_server, whose field names do not change); NULL
 * when out of memory. A packet that cannot be written so (a field name that
 * is not UTF-8) renders to no frame, once. */
const sio_plain_frames *sio_outpacket_plain(sio_outpacket *p, const plain_fields *f);
/* How many plain renderings were made in this process (one per packet sent
 * to plain clients at all: the proof that it is not one per recipient). */
unsigned long sio_outpacket_plain_renders(void);

/* The rendering for socket.io-msgpack-parser clients (protocol/sio_msgpack.h):
 * the packet {type, data, nsp[, id]} as one binary frame, its attachments as
 * bins inside data, a recovery offset kept as the last argument (the client
 * reads it there). Made at the first call and kept; NULL when out of memory;
 * no frame, once, when the packet has no msgpack form. */
const sio_plain_frames *sio_outpacket_msgpack(sio_outpacket *p);
/* sio_outpacket_encode() with the msgpack rendering made at once from the
 * fields (for a packet to one msgpack client: no text is parsed back). */
sio_outpacket *sio_outpacket_encode_msgpack(const char *nsp, sio_packet_type type, int64_t id,
                                            const json_t *data, const sio_bin *bins, size_t n_bins);
/* How many msgpack renderings were made in this process (one per packet sent
 * to msgpack clients at all). */
unsigned long sio_outpacket_msgpack_renders(void);

static inline sio_outpacket *sio_outpacket_ref(sio_outpacket *p)
{
    refcount_get(&p->refs);
    return p;
}
void sio_outpacket_unref(sio_outpacket *p);

#endif
