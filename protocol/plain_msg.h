/* plain_msg: the message codec of the plain WebSocket endpoint (PLAIN_WS_PATH):
 * one JSON object per text frame, no Engine.IO / Socket.IO framing. Pure: no
 * I/O, no globals. The field names are configuration (PLAIN_WS_EVENT_FIELD,
 * _DATA_FIELD, _ID_FIELD); a NULL `plain_fields` means "event", "data", "id".
 *
 * Client -> server (plain_decode): {"<event>":name,"<data>":value,"<id>":n} is
 * an event (without the data field the whole object is its data); {"<id>":n,
 * "<data>":value} without an event field is the reply to a server event. The
 * result is the Socket.IO argument array, so the rest of the server treats a
 * plain client's event as a Socket.IO one. A text client cannot reference
 * binary attachments: "_placeholder": true anywhere is refused.
 *
 * Server -> client (plain_encode): a Socket.IO EVENT / ACK as that same text,
 * written as JSON.stringify would (sio_json_append). Binary arguments stay
 * placeholders ("attachments": k tells how many binary frames follow), except
 * for an event whose only argument is binary (plain_single_binary): the
 * caller sends one bare binary frame instead.
 *
 * Ownership: plain_decode() fills `out` with an owned `args`; plain_in_clear()
 * frees it. Encoding never takes ownership of its arguments; it appends to the
 * caller's bytebuf and leaves its length unchanged on failure.
 * plain_query_object() returns a new reference the caller owns. */
#ifndef SIO_PLAIN_MSG_H
#define SIO_PLAIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bytebuf.h"
#include "sio_packet.h" /* sio_packet_type */

/* The names of the event, data and id fields, e.g. "event", "data", "id". */
typedef struct plain_fields {
    const char *event, *data, *id;
} plain_fields;

#define PLAIN_EVENT_MAX 256 /* bytes of an event name */

typedef enum plain_status {
    PLAIN_OK = 0,
    PLAIN_ERR_JSON = -1,  /* not JSON */
    PLAIN_ERR_SHAPE = -2, /* JSON of the wrong shape */
    PLAIN_ERR_NOMEM = -3,
} plain_status;

typedef enum plain_kind { PLAIN_EVENT, PLAIN_REPLY } plain_kind;

typedef struct plain_in {
    plain_kind kind;
    int64_t id;   /* -1 when absent */
    json_t *args; /* owned. EVENT: [name, data] (exactly the Socket.IO event array);
                     REPLY: [data], or [] when the reply has no data field */
} plain_in;

/* Decodes one text message (valid UTF-8 already; len bytes, not NUL-terminated).
 * Refused (PLAIN_ERR_SHAPE): not an object; an event that is not a string of
 * 1..PLAIN_EVENT_MAX bytes without NUL; an id that is not an integer in
 * [0, 2^53 - 1]; neither event nor id; "_placeholder": true anywhere; the
 * whole object as data nesting at jansson's limit (as args, one level deeper,
 * it would not parse again). On failure `out->args` is NULL. */
plain_status plain_decode(const char *text, size_t len, const plain_fields *f, plain_in *out);
/* Frees `in->args`; safe on a zeroed struct, after a failed decode, and twice. */
void plain_in_clear(plain_in *in);

/* Appends the plain text of a Socket.IO packet: `type` EVENT/BINARY_EVENT with
 * `data` = [name, arg...] or ACK/BINARY_ACK with `data` = [arg...]; `id` -1
 * none (an ACK needs one); `n_attachments` > 0 adds "attachments": n
 * (placeholders stay in place); `drop_last` leaves out the last argument (a
 * recovery offset; there must be one). Output, compact, in this key order:
 *   EVENT: {"<event>":name,"<data>":value,"<id>":n,"attachments":k}
 *   ACK:   {"<id>":n,"<data>":value,"attachments":k}
 * where value is the argument when there is exactly one, else the array of
 * them; data is left out when there is none. Returns 0, or -1 (out of memory,
 * or data not of that shape, e.g. not an array, an EVENT without a string
 * name, other packet types). */
int plain_encode(sio_packet_type type, int64_t id, const json_t *data, uint32_t n_attachments,
                 int drop_last, const plain_fields *f, bytebuf *out);

/* 1 when an EVENT/BINARY_EVENT's arguments (after drop_last) are exactly one
 * placeholder {"_placeholder":true,"num":0} and n_attachments == 1: the plain
 * client gets one bare binary frame. Else 0. (The caller sends an event that
 * wants an ack as the text instead: a bare frame has no room for its id.) */
int plain_single_binary(sio_packet_type type, const json_t *data, uint32_t n_attachments,
                        int drop_last);

/* The query string (no leading '?') as a JSON object of URL-decoded strings
 * ('+' is a space, %XX decoded; a malformed % sequence kept literally; a
 * parameter without '=' has the value ""). Parameters whose key is empty, or
 * whose decoded key or value is not valid UTF-8 or contains NUL, are skipped;
 * of a repeated key the last wins; at most max_params parameters (non-empty
 * '&'-separated parts, skipped ones included) are read, the rest ignored.
 * NULL only when out of memory. */
json_t *plain_query_object(const char *query, size_t len, size_t max_params);

#endif
