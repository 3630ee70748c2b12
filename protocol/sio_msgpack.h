/* sio_msgpack: the Socket.IO packet codec of socket.io-msgpack-parser 3.0
 * (notepack.io 2.2 underneath). Pure: no I/O, no globals.
 *
 * Each packet is ONE binary Engine.IO message, the msgpack map
 * {type, data, nsp, id?}; binary values are msgpack `bin` anywhere inside data
 * (no attachments, no placeholders on the wire, types 0..4 only).
 *
 * Decoding produces the same sio_packet the text parser (sio_packet.h) does for
 * the same packet sent by the default parser: every bin inside data becomes a
 * placeholder {"_placeholder":true,"num":i} and bins[i] a view into the
 * message, and an EVENT / ACK carrying any becomes BINARY_EVENT / BINARY_ACK
 * with `attachments` set. Validation is the reference Decoder's
 * (checkPacket: type an integer 0..4, nsp a string, id absent or an integer,
 * data shaped per type), plus the text parser's rules: an EVENT's first
 * element is a string and not a reserved name, nsp starts with '/', holds no
 * NUL and no ',' (the text form could not carry it) and fits lim->max_nsp_len, ids are within 0..2^53-1. What notepack
 * decodes but JSON has no form for is mapped as JSON.stringify would send it
 * over the text parser: undefined (fixext 0) drops a map member and is null in
 * an array, a timestamp / notepack Date is its ISO string, NaN / Infinity are
 * null, another ext type is [type, bin]. Refused: bins in anything but EVENT /
 * ACK data, more than lim->max_attachments bins (SIO_ERR_ATTACHMENTS), a map
 * key that is not a string, repeats or holds a NUL (as the text path refuses), a literal {"_placeholder": true} map,
 * invalid UTF-8, nesting deeper than SIO_MSGPACK_MAX_DEPTH, truncation and
 * trailing bytes (SIO_ERR_JSON: not well-formed), wrong shapes (SIO_ERR_PAYLOAD).
 * Every declared length or count is checked against the bytes left before
 * anything is read or allocated for it.
 *
 * Encoding writes what notepack writes for the packet socket.io would build:
 * {type, data, nsp[, id]} (data left out when absent), BINARY_* as EVENT / ACK,
 * each placeholder of a BINARY_* packet as the bin it names (in other packets a
 * placeholder-like object is an object, as the text parser reads it), integers and integral reals in their
 * smallest int form, other reals as float64, object keys in JavaScript's
 * own-key order (array indices first).
 *
 * Ownership: sio_msgpack_decode() fills `out` like sio_packet_decode() (free it
 * with sio_packet_clear()) and *bins with a malloc'd array of out->attachments
 * views into `msg` (NULL when none; free() it). On error nothing is left to free. */
#ifndef SIO_SIO_MSGPACK_H
#define SIO_SIO_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "sio_packet.h"

/* Nesting bound of decoded data (maps and arrays); the text path's is 2048. */
#define SIO_MSGPACK_MAX_DEPTH 1000

/* A view of bytes owned by someone else. */
typedef struct sio_span {
    const uint8_t *data;
    size_t len;
} sio_span;

/* Decodes one msgpack message. `lim` NULL: 10 attachments, 256-byte namespaces. */
sio_status sio_msgpack_decode(const uint8_t *msg, size_t len, const sio_limits *lim,
                              sio_packet *out, sio_span **bins);

/* Appends the msgpack form of `p` to `out`, placeholders replaced by
 * bins[num]. Returns 0, or -1 (out of memory, a placeholder naming no bin,
 * data nested beyond 2048, a type above BINARY_ACK); `out` is then unchanged. */
int sio_msgpack_encode(const sio_packet *p, const sio_span *bins, size_t n_bins, bytebuf *out);

#endif
