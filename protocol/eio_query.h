/* eio_query: the Engine.IO request query string (EIO, transport, sid, b64, j), parsed
 * in one place for both transports. Pure: no I/O, no allocation.
 *
 * Values are percent-decoded as Node's querystring does ('+' is a space). A
 * parameter given twice reads as invalid (Node gives an array, which
 * engine.io refuses as an unknown transport, version or sid). A sid that is not exactly EIO_QUERY_SID_LEN
 * characters of the sid alphabet can name no session: `sid_present` is set
 * and `sid` is "" (so it reads "Session ID unknown", never "no sid"). */
#ifndef SIO_EIO_QUERY_H
#define SIO_EIO_QUERY_H

#include <stddef.h>

#define EIO_QUERY_SID_LEN 20

typedef enum eio_query_transport {
    EIO_QT_NONE,     /* no transport parameter */
    EIO_QT_UNKNOWN,  /* present, neither polling nor websocket */
    EIO_QT_POLLING,
    EIO_QT_WEBSOCKET,
} eio_query_transport;

typedef struct eio_query {
    int eio;                        /* protocol version, -1 when absent or not a number */
    eio_query_transport transport;
    int sid_present;
    char sid[EIO_QUERY_SID_LEN + 1]; /* "" unless a well-formed sid */
    /* v3 clients (engine.io's `protocol === 3` paths): b64 is set by a
     * non-empty "b64" (engine.io: supportsBinary = !query.b64), jsonp by any
     * "j" (engine.io then picks its JSONP transport). */
    int b64;
    int jsonp;
} eio_query;

void eio_query_parse(const char *q, size_t len, eio_query *out);

/* Percent-decodes [p, end) into out (room bytes) as Node's querystring does
 * ('+' is a space; an invalid escape stays as it is); returns the decoded
 * length (never more than end - p), or room + 1 when it does not fit. Shared
 * with the plain WebSocket endpoint's query (plain_msg.c). */
size_t eio_query_decode(const char *p, const char *end, char *out, size_t room);

#endif
