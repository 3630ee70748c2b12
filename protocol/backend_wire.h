/* backend_wire: the JSON sio-server exchanges with an application backend
 * (CONNECT_PROXY_URL, EVENT_PROXY_URL, EVENT_STREAM); README "Backends" has the
 * contracts. Pure: no I/O, one call, no state.
 *
 * Requests: the edge describes what happened as a JSON object of plain fields
 * ({type, namespace, sid, ...}); backend_request_encode() writes it as one
 * compact JSON text with the binary attachments as "attachments": [base64...]
 * (their placeholders {"_placeholder":true,"num":i} stay where they were).
 *
 * Answers: backend_answer_decode() parses a backend's body for one request
 * type, checks it against the limits and returns the object (one new
 * reference, the only one) with "attachments" decoded into `bins`. Anything
 * else (not JSON, wrong types, too many rooms, a placeholder without its
 * attachment, a reserved event name) is -EPROTO with a short reason in `err`.
 *
 *   connect / refresh   {"allow":true, "user", "data":{}, "rooms":[], "subscribe":[],
 *                        "publish":[], "expires_at":unix s, "emit":[{"event","args":[]}]}
 *                       | {"allow":false, "reason", "data"}
 *   event               {"ack":[...], "attachments":[base64...]}  (absent ack: [])
 *   server_side_emit    the same as event
 *   connected, disconnected: the body is ignored (any answer is fine). */
#ifndef SIO_BACKEND_WIRE_H
#define SIO_BACKEND_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bytebuf.h"

typedef enum backend_type {
    BACKEND_CONNECT = 1,
    BACKEND_REFRESH,
    BACKEND_EVENT,
    BACKEND_CONNECTED,
    BACKEND_DISCONNECTED,
    BACKEND_SERVER_SIDE_EMIT,
} backend_type;

/* "connect", "refresh", "event", "connected", "disconnected", "server_side_emit" */
const char *backend_type_name(backend_type t);

typedef struct backend_bin {
    const void *data;
    size_t len;
} backend_bin;

/* Appends the request's JSON text to `out` (`fields` borrowed, unchanged). 0,
 * -EINVAL (not an object) or -ENOMEM. */
int backend_request_encode(json_t *fields, const backend_bin *bins, size_t n_bins,
                           bytebuf *out);

typedef struct backend_limits {
    size_t max_rooms;        /* "rooms" entries */
    size_t max_patterns;     /* "subscribe" / "publish" entries */
    size_t max_name;         /* bytes of a room, pattern, event name or reason */
    size_t max_emit;         /* "emit" entries */
    uint32_t max_attachments;
} backend_limits;

/* The decoded attachments of an answer: bins[i] is attachment i, its bytes in
 * `buf` (owned by the caller: bytebuf_free). */
typedef struct backend_attachments {
    bytebuf buf;
    size_t offsets[64], lens[64];
    uint32_t n;
} backend_attachments;

int backend_answer_decode(backend_type t, const char *body, size_t len, const backend_limits *lim,
                          json_t **answer, backend_attachments *att, char *err, size_t err_len);

#endif
