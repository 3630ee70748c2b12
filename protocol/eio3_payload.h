/* eio3_payload: the Engine.IO v3 packet and payload codec (socket.io-client
 * 2.x, engine.io-parser 2.x), beside the v4 one (eio_packet.h), whose packet
 * types and eio_status it shares. Pure: no I/O, no globals.
 *
 * Wire forms (engine.io 6's parser-v3):
 *   WebSocket text frame    "<type digit><data>" as in v4; "b4<base64>" is a
 *                           binary MESSAGE (a client with forceBase64)
 *   WebSocket binary frame  the type byte 4, then the bytes of a MESSAGE
 *   Polling, text framing   "<length>:<packet>" repeated; the length counts
 *                           UTF-16 code units (a JavaScript string's length: a
 *                           4-byte UTF-8 sequence counts 2); a binary packet
 *                           is "b4<base64>"
 *   Polling, binary framing per packet: 0 (string) or 1 (binary), the length's
 *                           decimal digits as bytes 0-9, 0xFF, the bytes; a
 *                           string's length counts UTF-8 bytes, a binary
 *                           packet's bytes start with its type byte (4)
 *
 * Decoders never allocate for text packets: `data` points into the caller's
 * input; base64 is decoded into the caller's scratch bytebuf (valid until the
 * next call). Malformed input returns an eio_status < 0. Encoders append one
 * whole packet or nothing (0, or -1: no memory). */
#ifndef SIO_EIO3_PAYLOAD_H
#define SIO_EIO3_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "eio_packet.h"

/* A length prefix has at most this many digits (engine.io allows 310). */
#define EIO3_MAX_LENGTH_DIGITS 10

/* One WebSocket message of a v3 client. */
eio_status eio3_decode_text_frame(const uint8_t *frame, size_t len, eio_packet *out,
                                  bytebuf *scratch);
eio_status eio3_decode_binary_frame(const uint8_t *frame, size_t len, eio_packet *out);

/* Polling payload iterator: begin (binary_framing 1 for the octet-stream
 * form), then next until EIO_END or an error. An empty body, or a packet of
 * length 0, is EIO_ERR_EMPTY. */
typedef struct eio3_payload_iter {
    const uint8_t *p;
    const uint8_t *end;
    uint8_t binary_framing;
    uint8_t started;
} eio3_payload_iter;

void eio3_payload_begin(eio3_payload_iter *it, const uint8_t *body, size_t len,
                        int binary_framing);
eio_status eio3_payload_next(eio3_payload_iter *it, eio_packet *out, bytebuf *scratch);

/* Appends one packet. `binary` 0: `data` is the packet's text form (type digit
 * first); 1: the raw bytes of a MESSAGE. */
int eio3_payload_append_text(bytebuf *out, int binary, const uint8_t *data, size_t len);
int eio3_payload_append_binary(bytebuf *out, int binary, const uint8_t *data, size_t len);

/* The UTF-16 length of UTF-8 text, walked by lead bytes (a byte that leads
 * no sequence counts as one unit). */
size_t eio3_utf16_len(const uint8_t *s, size_t len);

#endif
