/* http1: HTTP/1.1 requests on a connection, parsed by http-parser, answered in
 * order. See http1.h for the contract. */
#include "http1.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"

#define HTTP1_MAX_HEADERS 256
#define HTTP1_MAX_PENDING (1u << 20) /* bytes a client may send ahead of an answer */

enum http1_phase {
    PH_IDLE,     /* between requests */
    PH_HEAD,     /* reading a request line and headers */
    PH_BODY,     /* reading its body */
    PH_WAIT,     /* complete, waiting for its answer */
    PH_CLOSED,   /* answered with close, or refused */
};

enum { CB_NONE, CB_URL, CB_FIELD, CB_VALUE };

/* obs-fold scanner states (see scan_head) */
enum { SCAN_LINE, SCAN_LF, SCAN_CR, SCAN_DONE };

static const conn_ops http1_ops;
static const http_parser_settings settings;

static http1_state *st(conn *c)
{
    return c->proto.http;
}

/* ---- responses -------------------------------------------------------------- */

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static int write_response(conn *c, const http_response *r, int closing, int head_only)
{
    char head[4096];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %u %s\r\n%sContent-Length: %zu\r\n%s\r\n",
                     r->status, reason_phrase(r->status), r->headers ? r->headers : "", r->len,
                     closing ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    struct iovec iov[2] = {{head, (size_t)n}, {SIO_UNCONST(void *, r->body), head_only ? 0 : r->len}};
    return conn_writev(c, iov, iov[1].iov_len ? 2 : 1);
}

/* Refuses what is being read with `status` and closes, as Node does. */
static void refuse(conn *c, unsigned status)
{
    http1_state *s = st(c);
    http_response r = {.status = status, .close = 1};
    if (status == 413 && s->handler && s->handler->on_too_large && s->req.path)
        s->handler->on_too_large(s->handler->ctx, &s->req);
    s->phase = PH_CLOSED;
    write_response(c, &r, 1, 0);
    conn_close(c, 1);
}

static void reset_request(http1_state *s)
{
    s->head.len = 0;
    s->body.len = 0;
    s->n_headers = 0;
    s->head_bytes = 0;
    s->scan = SCAN_LINE;
    s->last_cb = CB_NONE;
    s->error = 0;
    s->handler = NULL;
    memset(&s->req, 0, sizeof(s->req));
    /* do not keep a large body's buffer for the next request */
    if (s->body.cap > 65536)
        bytebuf_free(&s->body);
}

int http1_respond(conn *c, const http_response *r)
{
    http1_state *s = st(c);
    if (c->ops != &http1_ops || s->phase != PH_WAIT || !conn_alive(c))
        return -1;
    /* an upgrade request answered without upgrading: the parser is done with it */
    int closing = r->close || !s->req.keep_alive || s->req.upgrade;
    int rc = write_response(c, r, closing, s->req.method == HTTP_HEAD);
    reset_request(s);
    if (closing || rc) {
        s->phase = PH_CLOSED;
        conn_close(c, 1);
        return rc;
    }
    s->phase = PH_IDLE;
    conn_set_deadline(c, CONN_DL_IDLE);
    http_parser_pause(&s->parser, 0);
    if (s->pending.len && !s->dispatching)
        conn_defer(c); /* parse what came meanwhile, outside the answering code */
    return 0;
}

const http_request *http1_pending(conn *c)
{
    http1_state *s = st(c);
    return c->ops == &http1_ops && s->phase == PH_WAIT ? &s->req : NULL;
}

const http_header *http_request_header(const http_request *r, const char *lname)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, lname) == 0)
            return &r->headers[i];
    return NULL;
}

/* ---- parser callbacks --------------------------------------------------------- */

static conn *conn_of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    conn *c = conn_of(p);
    http1_state *s = st(c);
    reset_request(s);
    s->phase = PH_HEAD;
    conn_enter_head(c);
    if (c->dl != CONN_DL_HEAD)
        conn_set_deadline(c, CONN_DL_HEAD);
    return 0;
}

/* Ends the string being gathered (url, name or value) with a NUL. */
static int end_piece(http1_state *s)
{
    return s->last_cb == CB_NONE ? 0 : bytebuf_append_byte(&s->head, 0);
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    http1_state *s = st(conn_of(p));
    s->last_cb = CB_URL;
    return bytebuf_append(&s->head, at, n);
}

static int new_header(http1_state *s)
{
    if (s->n_headers == HTTP1_MAX_HEADERS) {
        s->error = 431;
        return -1;
    }
    if (s->n_headers == s->cap_headers) {
        uint32_t cap = s->cap_headers ? s->cap_headers * 2 : 16;
        http_header *h = realloc(s->headers, cap * sizeof(*h));
        if (!h)
            return -1;
        s->headers = h;
        s->cap_headers = cap;
    }
    /* offsets into head for now; pointers once the head is complete */
    http_header *h = &s->headers[s->n_headers++];
    memset(h, 0, sizeof(*h));
    h->name_len = (uint32_t)s->head.len;
    return 0;
}

/* Trailers of a chunked body come through the header callbacks too, after the
 * request's view points into `head`: they are ignored (Node keeps them apart,
 * in req.trailers, and socket.io never reads them). */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
    http1_state *s = st(conn_of(p));
    if (s->phase >= PH_BODY)
        return 0;
    if (s->last_cb != CB_FIELD && (end_piece(s) || new_header(s)))
        return -1;
    s->last_cb = CB_FIELD;
    return bytebuf_append(&s->head, at, n);
}

/* RFC 7230 3.2.6 tchar. http-parser built non-strict (Debian's) lets blanks
 * through in names: "Name : value" and "Transfer Encoding: chunked" are
 * smuggling vectors (RFC 7230 3.2.4 says 400). */
static int is_tchar(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *name)
{
    if (!*name)
        return 0;
    for (; *name; name++)
        if (!is_tchar((uint8_t)*name))
            return 0;
    return 1;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    http1_state *s = st(conn_of(p));
    if (s->phase >= PH_BODY)
        return 0; /* a trailer */
    if (s->last_cb != CB_VALUE) {
        http_header *h = &s->headers[s->n_headers - 1];
        if (end_piece(s))
            return -1;
        h->value_len = (uint32_t)s->head.len; /* the value's offset, for now */
    }
    s->last_cb = CB_VALUE;
    return bytebuf_append(&s->head, at, n);
}

static void lower(char *p)
{
    for (; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static char *trim(char *v, uint32_t *len)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    *len = (uint32_t)n;
    return v;
}

/* Turns the offsets gathered while parsing into the request's view; -1 (a
 * 400) when a header name is not a token. */
static int finish_headers(conn *c)
{
    http1_state *s = st(c);
    char *base = (char *)s->head.data;
    for (uint32_t i = 0; i < s->n_headers; i++) {
        http_header *h = &s->headers[i];
        char *name = base + h->name_len;
        /* a header without a value has no value offset: "" */
        char *value = h->value_len ? base + h->value_len : name + strlen(name);
        if (!is_token(name))
            return -1;
        lower(name);
        h->name = name;
        h->name_len = (uint32_t)strlen(name);
        h->value = trim(value, &h->value_len);
    }
    http_request *r = &s->req;
    r->headers = s->headers;
    r->n_headers = s->n_headers;
    r->path = base;
    char *q = strchr(base, '?');
    if (q)
        *q++ = '\0';
    char *frag = strchr(q ? q : base, '#');
    if (frag)
        *frag = '\0';
    r->query = q ? q : "";
    r->path_len = strlen(r->path);
    r->query_len = strlen(r->query);
    r->peer = c->peer_addr;
    return 0;
}

static int body_expected(const http_parser *p)
{
    return (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != ULLONG_MAX);
}

static int on_headers_complete(http_parser *p)
{
    conn *c = conn_of(p);
    http1_state *s = st(c);
    if (s->head.len == 0 || end_piece(s) || bytebuf_append_byte(&s->head, 0))
        return -1; /* an empty URL, or no memory */
    conn_leave_head(c);
    if (p->http_major != 1) {
        s->error = 505;
        return -1;
    }
    if (finish_headers(c)) {
        s->error = 400;
        return -1;
    }
    s->req.method = p->method;
    s->req.keep_alive = (uint8_t)http_should_keep_alive(p);
    s->req.upgrade = (uint8_t)p->upgrade;
    s->handler = s->route(s->route_ctx, s->req.path, s->req.path_len);
    size_t max_body = s->handler ? s->handler->max_body : 0;
    if (p->content_length != ULLONG_MAX && p->content_length > max_body) {
        s->error = 413; /* refused from its length, before reading it */
        return -1;
    }
    s->phase = PH_BODY;
    conn_set_deadline(c, body_expected(p) ? CONN_DL_BODY : CONN_DL_NONE);
    const http_header *expect = http_request_header(&s->req, "expect");
    if (expect && strcasecmp(expect->value, "100-continue") == 0 && body_expected(p))
        conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    http1_state *s = st(conn_of(p));
    size_t max_body = s->handler ? s->handler->max_body : 0;
    if (s->body.len + n > max_body) {
        s->error = 413;
        return -1;
    }
    return bytebuf_append(&s->body, at, n);
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1); /* one request at a time: dispatched by feed() */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- reading ----------------------------------------------------------------- */

/* http-parser accepts obs-fold continuation lines (a header line starting with
 * a blank); Node refuses them, and so does this scan of the head's bytes. */
static int scan_head(http1_state *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && s->scan != SCAN_DONE; i++) {
        uint8_t ch = p[i];
        switch (s->scan) {
        case SCAN_LINE:
            if (ch == '\n')
                s->scan = SCAN_LF;
            break;
        case SCAN_LF:
            if (ch == ' ' || ch == '\t')
                return -1;
            s->scan = ch == '\r' ? SCAN_CR : ch == '\n' ? SCAN_DONE : SCAN_LINE;
            break;
        case SCAN_CR:
            s->scan = ch == '\n' ? SCAN_DONE : SCAN_LINE;
            break;
        }
    }
    return 0;
}

static int pend(http1_state *s, const uint8_t *p, size_t n)
{
    if (s->pending.len + n > HTTP1_MAX_PENDING)
        return -1;
    return bytebuf_append(&s->pending, p, n);
}

static void not_found(conn *c)
{
    static const char body[] = "Not Found";
    http_response r = {404, "Content-Type: text/plain\r\n", body, sizeof(body) - 1, 0};
    http1_respond(c, &r);
}

/* Hands the complete request to its handler. */
static void dispatch(conn *c)
{
    http1_state *s = st(c);
    s->phase = PH_WAIT;
    conn_set_deadline(c, CONN_DL_NONE);
    s->req.body = s->body.data;
    s->req.body_len = s->body.len;
    if (!s->handler) {
        not_found(c);
        return;
    }
    s->dispatching = 1;
    s->handler->on_request(s->handler->ctx, c, &s->req);
    if (c->ops == &http1_ops)
        s->dispatching = 0;
}

static unsigned error_status(http1_state *s)
{
    if (s->error)
        return s->error;
    return HTTP_PARSER_ERRNO(&s->parser) == HPE_HEADER_OVERFLOW ? 431 : 400;
}

/* Parses `p`; dispatches each complete request in turn. */
static int feed(conn *c, uint8_t *p, size_t n)
{
    while (n) {
        http1_state *s = st(c);
        if (s->phase <= PH_HEAD && scan_head(s, p, n)) {
            refuse(c, 400);
            return 0;
        }
        size_t used = http_parser_execute(&s->parser, &settings, (const char *)p, n);
        enum http_errno err = HTTP_PARSER_ERRNO(&s->parser);
        if (err != HPE_OK && err != HPE_PAUSED) {
            refuse(c, error_status(s));
            return 0;
        }
        p += used;
        n -= used;
        if (err != HPE_PAUSED)
            return 0; /* all parsed; the request goes on in the next read */
        dispatch(c);
        if (c->ops != &http1_ops) /* upgraded: the rest is the new protocol's */
            return n && conn_alive(c) ? c->ops->on_data(c, p, n) : 0;
        if (!conn_alive(c) || st(c)->phase == PH_CLOSED)
            return 0;
        if (st(c)->phase == PH_WAIT) /* held: the rest waits for its answer */
            return pend(st(c), p, n);
    }
    return 0;
}

static int http1_data(conn *c, uint8_t *p, size_t n)
{
    http1_state *s = st(c);
    if (s->phase == PH_CLOSED)
        return 0;
    if (s->phase == PH_WAIT || s->pending.len)
        return pend(s, p, n);
    return feed(c, p, n);
}

void http1_resume(conn *c)
{
    http1_state *s = st(c);
    if (c->ops != &http1_ops || s->phase == PH_WAIT || !s->pending.len)
        return;
    bytebuf in = s->pending;
    s->pending = (bytebuf)BYTEBUF_INIT;
    if (feed(c, in.data, in.len))
        conn_kill(c);
    bytebuf_free(&in);
}

static void free_state(conn *c)
{
    http1_state *s = st(c);
    if (!s)
        return;
    bytebuf_free(&s->head);
    bytebuf_free(&s->body);
    bytebuf_free(&s->pending);
    free(s->headers);
    free(s);
    c->proto.http = NULL;
}

static void http1_close(conn *c)
{
    http1_state *s = st(c);
    if (s && s->phase == PH_WAIT && s->handler && s->handler->on_abort)
        s->handler->on_abort(s->handler->ctx, c);
    free_state(c);
}

static const conn_ops http1_ops = {
    .on_data = http1_data,
    .on_close = http1_close,
    .on_deferred = http1_resume,
};

void http1_start(conn *c, http_route_fn route, void *route_ctx, uint32_t max_head)
{
    http1_state *s = c->proto.http = calloc(1, sizeof(*s));
    if (!s) {
        conn_kill(c);
        return;
    }
    http_parser_init(&s->parser, HTTP_REQUEST);
    s->parser.data = c;
    s->route = route;
    s->route_ctx = route_ctx;
    s->max_head = max_head;
    http_parser_set_max_header_size(max_head); /* process-wide; the edge's bound */
    c->ops = &http1_ops;
    conn_enter_head(c); /* a new connection is sending its first request */
    conn_set_deadline(c, CONN_DL_HEAD);
}

void http1_end(conn *c)
{
    free_state(c);
    c->ops = NULL;
}
