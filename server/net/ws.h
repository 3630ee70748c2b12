/* ws: the WebSocket server side of a connection (RFC 6455), after an HTTP
 * upgrade accepted by ws_accept().
 *
 * Reading: frame headers are checked as soon as they are complete (masking,
 * reserved bits, opcodes, control-frame rules) and a message larger than the
 * handler's limit is refused from its header, before its payload arrives
 * (close 1009). Text must be valid UTF-8 (1007). Fragments are reassembled;
 * a message that arrives whole in one read is handed over in place, without
 * a copy. Pings are answered, pongs go to on_pong (when set). After the client's close frame
 * nothing more it sent is processed; the close is answered and the
 * connection ends.
 *
 * permessage-deflate (RFC 7692; ws_ext.h, ws_deflate.h), when the options
 * turn it on and the client offers it: accepted with both
 * no_context_takeover parameters, so the connection keeps no zlib state.
 * Reading: RSV1 only on the first frame of a data message (else 1002); the
 * whole message is inflated by the shared inflater into at most the
 * handler's limit (past it: 1009 at once, the rest not inflated); a corrupt
 * stream is 1007, as ws closes it; inflated text must be UTF-8 (1007).
 * Writing: ws_frame_for() picks a shared frame's compressed twin (made once
 * per frame and window size) for a data message of at least the threshold.
 * A header ws would refuse (ws_ext.h) is answered 400 by ws_accept_opts().
 *
 * Writing: ws_write() sends bytes that are already complete frames (the
 * caller frames them, e.g. shared broadcast frames with their header laid out
 * once); ws_send() frames one message. ws_close() runs the closing handshake:
 * our close frame, then the client's reply or a deadline.
 *
 * Everything runs on the edge thread. */
#ifndef SIO_NET_WS_H
#define SIO_NET_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "bytebuf.h"
#include "ws_frame.h"

typedef struct conn conn;
struct http_request;

typedef struct ws_handler {
    /* A complete data message; `data` is valid during the call. */
    void (*on_message)(void *ctx, conn *c, int binary, uint8_t *data, size_t len);
    /* Output drained after a short write. */
    void (*on_drained)(void *ctx, conn *c);
    /* Optional: a pong frame arrived (the answer to a ping we sent). */
    void (*on_pong)(void *ctx, conn *c);
    /* No more messages: the client closed (`code` its status, 1005 none),
     * the protocol failed (the status we closed with), or the connection was
     * lost (1006). Called once. */
    void (*on_close)(void *ctx, conn *c, uint16_t code);
} ws_handler;

/* Per-connection state, inside the conn. */
#define WS_MAX_CONTROL 125 /* a control frame's payload, at most (RFC 6455 5.5) */

typedef struct ws_state {
    uint8_t close_sent, close_received, closed_reported; /* first: read by every write */
    uint8_t paused;         /* ws_pause(): reading stopped */
    const ws_handler *h;
    void *ctx;
    uint64_t max_message;
    ws_frame_hdr frame;     /* the frame being read */
    uint64_t frame_got;     /* payload bytes of it so far */
    uint8_t hdr[WS_MAX_HEADER];
    uint8_t hdr_len;        /* header bytes gathered while incomplete */
    uint8_t in_frame;       /* header parsed, payload coming */
    uint8_t msg_opcode;     /* text/binary of the message in progress, 0 none */
    uint8_t msg_deflated;   /* the message in progress is compressed (RSV1) */
    uint8_t deflate_bits;   /* permessage-deflate: our window bits (8..15), 0 not negotiated */
    uint32_t deflate_threshold; /* messages of at least this many bytes go compressed */
    ws_utf8 utf8;
    bytebuf msg;            /* a message arriving in pieces */
    uint8_t *ctl;           /* a control frame's payload (WS_MAX_CONTROL bytes, once one has one) */
    uint8_t ctl_len;
    bytebuf stash;          /* what was read but not parsed when paused */
} ws_state;

/* Answers `req` (a validated upgrade, see ws_upgrade_check) with 101 and
 * switches the connection to WebSocket. `extra_headers`: NULL or
 * "Name: value\r\n" lines. Returns 0, or -1 (the connection is closed). */
int ws_accept(conn *c, const struct http_request *req, const char *extra_headers,
              const ws_handler *h, void *ctx, uint64_t max_message);

typedef struct ws_options {
    uint64_t max_message;     /* the largest message, inflated (1009 past it) */
    int per_message_deflate;  /* 0: the extension is declined (no header) */
    size_t deflate_threshold; /* compressed from this many payload bytes */
} ws_options;
/* ws_accept() with permessage-deflate as `o` says. An invalid
 * Sec-WebSocket-Extensions header (with deflate on) is answered 400 and the
 * connection closed: -1, as for any failure. */
int ws_accept_opts(conn *c, const struct http_request *req, const char *extra_headers,
                   const ws_handler *h, void *ctx, const ws_options *o);

/* The frame to write for `f` on `c`: its compressed twin when the
 * connection negotiated permessage-deflate and `f` is a data message of at
 * least the threshold, else `f` (also when compressing fails). */
const struct frame *ws_frame_for(conn *c, struct frame *f);
/* 0 when `req` is a well-formed WebSocket upgrade (GET, Upgrade: websocket,
 * Sec-WebSocket-Version 13, a valid key), else the HTTP status to refuse it. */
int ws_upgrade_check(const struct http_request *req);

/* Bytes that are whole frames; 0 or -1 (connection dead). */
int ws_write(conn *c, const void *frames, size_t len);
int ws_writev(conn *c, const struct iovec *iov, int n);
/* One unfragmented message or control frame. */
int ws_send(conn *c, uint8_t opcode, const void *data, size_t len);
/* Backpressure on a client: stop reading it (the rest of the current read is
 * kept, and lws stops polling the socket), e.g. while the answers it caused
 * wait in its send queue; resume() goes on from the next check of the loop. */
void ws_pause(conn *c);
void ws_resume(conn *c);
int ws_paused(const conn *c);
/* Starts the closing handshake with `code` (nothing may be written after). */
void ws_close(conn *c, uint16_t code);
/* The same with a reason text (UTF-8; cut to the 123 bytes a close frame
 * holds, at a character boundary). */
void ws_close_reason(conn *c, uint16_t code, const char *reason);
int ws_closing(const conn *c);

#endif
