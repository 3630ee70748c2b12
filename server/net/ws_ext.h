/* ws_ext: the Sec-WebSocket-Extensions header (RFC 6455 9.1) read exactly as
 * npm ws reads it (lib/extension.js: offers separated by commas, parameters
 * by semicolons, values tokens or quoted strings with backslash escapes),
 * and sio's answer to permessage-deflate offers (RFC 7692), as ws's server
 * checks them (lib/permessage-deflate.js normalizeParams: a parameter given
 * twice, an unknown one, or a value out of range makes the header invalid,
 * and ws refuses the handshake with 400).
 *
 * The answer: the first permessage-deflate offer, always with
 * server_no_context_takeover and client_no_context_takeover (RFC 7692
 * 7.1.1.1 and 7.1.1.2 let a server add both unasked; ws and Chromium accept
 * them), plus server_max_window_bits=N when the offer had it. Every message
 * is then compressed and inflated on its own: sio keeps no zlib state per
 * connection at all (one shared deflater per window size, one shared
 * inflater, on the edge thread: ws_deflate.h), so a socket costs the same
 * memory with deflate on as off, and a broadcast is compressed once for all
 * its recipients.
 *
 * Pure: no I/O, no globals; the parser allocates one scratch buffer of the
 * header's length for unescaped values, freed before it returns. */
#ifndef SIO_NET_WS_EXT_H
#define SIO_NET_WS_EXT_H

#include <stddef.h>
#include <stdint.h>

/* What the parser reports: each parameter of an offer (`value` NULL for a
 * parameter without one, else unescaped and NUL-terminated, valid during the
 * call), then the end of the offer. A callback's non-zero return stops the
 * parse with that value. */
typedef struct ws_ext_sink {
    int (*param)(void *ctx, const char *ext, size_t ext_len, const char *name, size_t name_len,
                 const char *value, size_t value_len);
    int (*offer)(void *ctx, const char *ext, size_t ext_len);
    void *ctx;
} ws_ext_sink;

/* 0, -EINVAL (the header is not what ws accepts), -ENOMEM, or a callback's
 * return value. */
int ws_ext_parse(const char *header, size_t len, const ws_ext_sink *sink);

#define WS_PMD_RESPONSE_MAX 112

typedef struct ws_pmd {
    uint8_t accepted;    /* 1: send `response` */
    uint8_t server_bits; /* our window: the offer's server_max_window_bits, else 15 */
    char response[WS_PMD_RESPONSE_MAX]; /* the Sec-WebSocket-Extensions value */
} ws_pmd;

/* The answer to the header's offers: 0 (out->accepted tells whether one was
 * taken), or -EINVAL (refuse the handshake with 400, as ws does), -ENOMEM. */
int ws_pmd_negotiate(const char *header, size_t len, ws_pmd *out);

#endif
