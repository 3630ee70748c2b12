/* eio_packet: the Engine.IO v4 packet and payload codec. Pure: no I/O, no globals.
 *
 * Wire forms (spec: socketio/engine.io-protocol, v4):
 *   WebSocket text frame   "<type digit><data>"       e.g. "4hello", "2probe"
 *   WebSocket binary frame  raw bytes, always a MESSAGE
 *   Polling payload         packets joined by 0x1E; a binary packet is "b<base64>"
 *
 * Decoders never allocate for text packets: `data` points into the caller's input.
 * Binary packets in a polling payload are base64-decoded into the caller's scratch
 * bytebuf, and `data` points there (valid until the next call). Every malformed
 * input returns an eio_status < 0; nothing is partially consumed. */
#ifndef SIO_EIO_PACKET_H
#define SIO_EIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

typedef enum eio_packet_type {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
} eio_packet_type;

typedef enum eio_status {
    EIO_OK = 0,
    EIO_END = 1,           /* payload iterator: no more packets */
    EIO_ERR_EMPTY = -1,    /* empty packet */
    EIO_ERR_TYPE = -2,     /* unknown packet type */
    EIO_ERR_BASE64 = -3,   /* invalid base64 in a "b" packet */
    EIO_ERR_NOMEM = -4,
    EIO_ERR_FRAMING = -5,  /* v3 payload: a bad length prefix (eio3_payload.h) */
} eio_status;

typedef struct eio_packet {
    eio_packet_type type;
    int binary;            /* 1: data are raw bytes (binary frame or "b" packet) */
    const uint8_t *data;   /* payload after the type character; not NUL-terminated */
    size_t len;
} eio_packet;

/* One WebSocket frame. */
eio_status eio_decode_text_frame(const uint8_t *frame, size_t len, eio_packet *out);
void eio_decode_binary_frame(const uint8_t *frame, size_t len, eio_packet *out);

/* Polling payload iterator: eio_payload_begin(), then eio_payload_next() until it
 * returns EIO_END (done) or an error. An empty body is EIO_ERR_EMPTY. */
typedef struct eio_payload_iter {
    const uint8_t *p;
    const uint8_t *end;
    int started;
} eio_payload_iter;

void eio_payload_begin(eio_payload_iter *it, const uint8_t *body, size_t len);
eio_status eio_payload_next(eio_payload_iter *it, eio_packet *out, bytebuf *scratch);

/* Appends one packet to a polling payload under construction in `out`.
 * `binary` = 0: `data` is the packet's text form (type digit first), as sent in a
 * WebSocket text frame. `binary` = 1: `data` are the raw bytes of a MESSAGE.
 * Separators are inserted between packets. Returns 0 or -1 (no memory/limit). */
int eio_payload_append(bytebuf *out, int binary, const uint8_t *data, size_t len);

const char *eio_status_str(eio_status st);

#endif
