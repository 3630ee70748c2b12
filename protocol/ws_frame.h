/* ws_frame: the RFC 6455 framing that a WebSocket server needs. Pure: no I/O,
 * no allocation, no globals.
 *
 *  - ws_frame_parse_header() reads one frame header from the bytes received so
 *    far and checks everything the header alone can tell (reserved bits,
 *    opcodes, control-frame rules, the 63-bit length, masking as a server
 *    requires it). The caller decides the message-size limit from h->len
 *    before any payload arrives, so a header announcing 2^62 bytes is refused
 *    at once.
 *  - ws_unmask() unmasks payload bytes in place, resumable at any offset.
 *  - ws_utf8 validates text incrementally, across frames and reads.
 *  - ws_frame_header() lays out an unmasked server frame header;
 *    ws_frame_header_rsv() the same with reserved bits (RSV1: a message
 *    compressed by permessage-deflate, RFC 7692).
 *  - ws_accept_key() computes Sec-WebSocket-Accept (SHA-1, base64).
 *
 * Errors carry the close status a server should send (1002 protocol error,
 * 1007 invalid UTF-8, 1009 too big). */
#ifndef SIO_WS_FRAME_H
#define SIO_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

enum ws_close_status {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_NO_STATUS = 1005,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/* The reserved bits as ws_frame_hdr.rsv holds them. RSV1 is permessage-deflate's
 * "compressed" bit (RFC 7692 6). */
#define WS_RSV1 0x4

/* Largest frame header: 2 + 8 (length) + 4 (mask key). */
#define WS_MAX_HEADER 14
/* Largest header of a server frame (no mask key). */
#define WS_MAX_SERVER_HEADER 10

typedef struct ws_frame_hdr {
    uint8_t fin;
    uint8_t rsv;      /* the three RSV bits, as bits 0x4/0x2/0x1 */
    uint8_t opcode;   /* enum ws_opcode */
    uint8_t masked;
    uint8_t mask[4];
    uint64_t len;     /* payload length */
    size_t header_len;
} ws_frame_hdr;

/* Parses the header at the start of `p`. Returns the header length (> 0), 0
 * when more bytes are needed, or -(close status) for a frame no server may
 * accept: reserved bits set (`allowed_rsv` lists the bits an extension has
 * negotiated, 0 for none), an unknown opcode, a fragmented or over-125-byte
 * control frame, the top bit of a 64-bit length set, or an unmasked frame
 * when `require_mask` is set. */
int ws_frame_parse_header(const uint8_t *p, size_t n, int require_mask, uint8_t allowed_rsv,
                          ws_frame_hdr *h);

/* XORs `n` bytes with the mask; `offset` is the position of p[0] within the
 * frame's payload (so a payload unmasked in pieces comes out right). */
void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF). Zero-initialise, feed every piece, then ws_utf8_complete(). */
typedef struct ws_utf8 {
    uint32_t state;
} ws_utf8;

/* 0 while valid so far, -1 on an invalid sequence. */
int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n);
/* 1 when the text fed so far ends at a character boundary. */
int ws_utf8_complete(const ws_utf8 *u);

/* Writes the header of an unmasked, final server frame with `opcode` and a
 * payload of `len` bytes into `out` (WS_MAX_SERVER_HEADER bytes of room);
 * returns its length (2, 4 or 10). */
size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len);
/* The same with the reserved bits `rsv` (WS_RSV1 ...) set. */
size_t ws_frame_header_rsv(uint8_t *out, uint8_t opcode, uint8_t rsv, uint64_t len);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL. Returns 0, or -1 when `key` is not the base64 of
 * 16 bytes (RFC 6455 4.2.1, item 5). */
int ws_accept_key(const char *key, size_t key_len, char out[29]);

#endif
