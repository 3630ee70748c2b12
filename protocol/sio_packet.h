/* sio_packet: the Socket.IO v5 packet codec (text part). Pure: no I/O, no globals.
 *
 * Text form (spec: socketio/socket.io-protocol; reference: npm socket.io-parser 4.x):
 *   <type digit>[<attachments>-][<nsp>,][<ack id>][<JSON>]
 * The namespace is written only when it is not "/". Binary arguments are carried
 * as placeholders {"_placeholder":true,"num":i} in `data`, and the i-th binary
 * attachment follows as its own Engine.IO binary message; this codec handles the
 * text packet and validates placeholders; the caller collects the attachments.
 *
 * Ownership: sio_packet_decode() fills `out` with owned members (nsp string, JSON);
 * sio_packet_clear() frees them. Encoding never takes ownership of the packet.
 * Everything the reference parser rejects returns an sio_status < 0. */
#ifndef SIO_SIO_PACKET_H
#define SIO_SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bytebuf.h"

typedef enum sio_packet_type {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
} sio_packet_type;

typedef enum sio_status {
    SIO_OK = 0,
    SIO_ERR_EMPTY = -1,        /* no input */
    SIO_ERR_TYPE = -2,         /* unknown packet type */
    SIO_ERR_ATTACHMENTS = -3,  /* bad or too many attachments, or placeholder out of range */
    SIO_ERR_NSP = -4,          /* namespace too long or malformed */
    SIO_ERR_ID = -5,           /* ack id out of range */
    SIO_ERR_JSON = -6,         /* payload is not valid JSON */
    SIO_ERR_PAYLOAD = -7,      /* valid JSON of the wrong shape for this packet type */
    SIO_ERR_NOMEM = -8,
} sio_status;

typedef struct sio_packet {
    sio_packet_type type;
    char *nsp;             /* owned, NUL-terminated; "/" when absent on the wire */
    int64_t id;            /* ack id, or -1 when absent */
    uint32_t attachments;  /* BINARY_*: how many binary messages follow; else 0 */
    json_t *data;          /* owned reference; NULL when absent */
} sio_packet;

typedef struct sio_limits {
    uint32_t max_attachments; /* e.g. 10; more is SIO_ERR_ATTACHMENTS */
    size_t max_nsp_len;       /* e.g. 256 */
} sio_limits;

/* Decodes the text of one Socket.IO packet (the Engine.IO MESSAGE data). */
sio_status sio_packet_decode(const char *s, size_t len, const sio_limits *lim, sio_packet *out);
void sio_packet_clear(sio_packet *p);

/* Appends the text form of `p` to `out`. `p->nsp` NULL means "/". For BINARY_* the
 * caller sets `attachments`. Returns 0, or -1 on allocation failure. */
int sio_packet_encode(const sio_packet *p, bytebuf *out);

/* Appends the JSON text of `v` as socket.io-parser / JSON.stringify would write it
 * (compact, UTF-8, no escaped '/'). Returns 0 or -1. */
int sio_json_append(bytebuf *out, const json_t *v);

/* The event name of an EVENT/BINARY_EVENT (data[0] when a string), or NULL. */
const char *sio_packet_event_name(const sio_packet *p);

/* Counts placeholders {"_placeholder":true,"num":i} in v (any depth). Returns the
 * count, or -1 when a placeholder's num is not an integer in [0, n_attachments). */
int sio_count_placeholders(const json_t *v, uint32_t n_attachments);

/* 1 when `name` is reserved for the protocol: connect, connect_error, disconnect,
 * disconnecting, newListener, removeListener. */
int sio_is_reserved_event(const char *name);

const char *sio_status_str(sio_status st);

#endif
