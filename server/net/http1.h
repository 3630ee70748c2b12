/* http1: the HTTP/1.1 server side of a connection, parsed by http-parser.
 *
 * Requests are read strictly (http-parser's strict mode plus what it lets
 * through): invalid or duplicate Content-Length, Content-Length with
 * Transfer-Encoding, a bad chunk, a header line without a colon, a space
 * before the colon, obs-fold continuation lines, control characters, an HTTP
 * version other than 1.x: 400 and the connection is closed, as Node does.
 * Headers past the edge's max_header_bytes get 431, a body past the
 * handler's max_body 413. Chunked bodies are decoded. Requests are answered in
 * order: while one is unanswered (a held long-poll) the next one waits.
 *
 * A request and every string in it stay valid until it is answered
 * (http1_respond) or aborted (on_abort). Everything runs on the edge thread. */
#ifndef SIO_NET_HTTP1_H
#define SIO_NET_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "bytebuf.h"

typedef struct conn conn;

typedef struct http_header {
    const char *name;  /* lower case, NUL-terminated */
    const char *value; /* NUL-terminated; leading/trailing blanks removed */
    uint32_t name_len, value_len;
} http_header;

typedef struct http_request {
    unsigned method;       /* enum http_method */
    uint8_t keep_alive;    /* the connection stays open after the answer */
    uint8_t upgrade;       /* Connection: upgrade with an Upgrade header */
    const char *path;      /* up to '?', NUL-terminated */
    const char *query;     /* after '?', "" when none */
    size_t path_len, query_len;
    const http_header *headers;
    size_t n_headers;
    const uint8_t *body;   /* decoded (chunked) */
    size_t body_len;
    const char *peer;      /* the TCP peer's address */
} http_request;

/* The first header named `lname` (lower case), or NULL. */
const http_header *http_request_header(const http_request *r, const char *lname);

typedef struct http_handler {
    void *ctx;
    size_t max_body;
    /* A complete request. Answer with http1_respond(), now or later, or
     * upgrade the connection (ws_accept); until then nothing more is read. */
    void (*on_request)(void *ctx, conn *c, const http_request *req);
    /* The connection of an unanswered request is going away. */
    void (*on_abort)(void *ctx, conn *c);
    /* Optional: a request whose body is over max_body is refused with 413;
     * `req` has its line and headers only, for the call. */
    void (*on_too_large)(void *ctx, const http_request *req);
} http_handler;

typedef struct http_response {
    unsigned status;
    const char *headers; /* NULL, or "Name: value\r\n" lines (Content-Type among them) */
    const void *body;
    size_t len;
    int close;           /* close the connection after it */
} http_response;

/* Answers the request waiting on `c` (the first one: requests are answered
 * in order). Adds Content-Length and, when closing, Connection: close. */
int http1_respond(conn *c, const http_response *r);
/* The request waiting for an answer on `c`, or NULL. */
const http_request *http1_pending(conn *c);

/* Routing, set by the edge: the handler of a path. */
typedef const http_handler *(*http_route_fn)(void *ctx, const char *path, size_t len);

/* Per-connection state, inside the conn. */
typedef struct http1_state {
    http_parser parser;
    http_route_fn route;
    void *route_ctx;
    const http_handler *handler; /* of the request being read or answered */
    bytebuf head;                /* url and headers, NUL-separated */
    bytebuf body;
    bytebuf pending;             /* bytes after an unanswered request */
    http_header *headers;        /* offsets while parsing, pointers after */
    uint32_t n_headers, cap_headers;
    uint32_t head_bytes;         /* raw bytes of the current head */
    uint32_t max_head;
    uint8_t scan;                /* obs-fold scanner state */
    uint8_t last_cb;             /* 1 url, 2 field, 3 value */
    uint8_t phase;               /* enum in http1.c */
    uint16_t error;              /* HTTP status to refuse with */
    uint8_t dispatching;
    http_request req;
} http1_state;

/* Starts HTTP on a new connection. */
void http1_start(conn *c, http_route_fn route, void *route_ctx, uint32_t max_head);
/* Ends HTTP on `c` (ws_accept does, before switching protocols): frees the
 * HTTP state; the pending request and its strings are gone. */
void http1_end(conn *c);
/* Parses what an answered request left behind (the edge calls it at a safe
 * point of the loop, never inside the answering code). */
void http1_resume(conn *c);

#endif
