/* floor_http: the HTTP/1.1 requests of a connection, one at a time (keep-alive,
 * no pipelining behind a held GET). A request is routed by its query alone
 * (any path): EIO=4 and transport=websocket with Upgrade: websocket -> the
 * upgrade; transport=polling -> a polling handshake (GET without sid), a poll
 * (GET with sid) or packets (POST with sid). Anything else, a head over 16 KB,
 * a body that would not fit the input buffer, chunked bodies: an error status
 * and the connection is closed. Query values are used as they are (sio-bench
 * sends nothing that needs decoding). */
#include "floor.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEAD_MAX 16384

typedef struct http_req {
    const char *method, *target;
    size_t method_len, target_len;
    const char *eio, *transport, *sid, *key;
    size_t eio_len, transport_len, sid_len, key_len;
    int upgrade_ws, chunked;
    size_t content_length;
} http_req;

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
    }
}

void http_respond(floor_conn *c, int status, const char *ctype, const struct iovec *body, int n_body,
                  int close)
{
    struct iovec iov[FLOOR_PARTS_MAX + 1];
    char head[256];
    size_t len = 0;
    n_body = n_body < FLOOR_PARTS_MAX ? n_body : FLOOR_PARTS_MAX;
    for (int i = 0; i < n_body; i++) {
        iov[i + 1] = body[i];
        len += body[i].iov_len;
    }
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                      status, status_text(status), ctype, len, close ? "Connection: close\r\n" : "");
    iov[0] = (struct iovec){head, (size_t)hl};
    conn_sendv(c, iov, n_body + 1);
    if (close)
        conn_close_after(c);
}

/* Answers with an error status and closes; the whole input is taken. */
static ssize_t refuse(floor_conn *c, int status, size_t n)
{
    static const char msg[] = "{\"code\":3,\"message\":\"Bad request\"}";
    struct iovec body = {(void *)(uintptr_t)msg, sizeof(msg) - 1};
    http_respond(c, status, "application/json", &body, 1, 1);
    return (ssize_t)n;
}

static int name_is(const char *p, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

static void on_header(http_req *r, const char *name, size_t nl, const char *v, size_t vl)
{
    if (name_is(name, nl, "Upgrade")) {
        r->upgrade_ws = vl == 9 && strncasecmp(v, "websocket", 9) == 0;
    } else if (name_is(name, nl, "Sec-WebSocket-Key")) {
        r->key = v;
        r->key_len = vl;
    } else if (name_is(name, nl, "Transfer-Encoding")) {
        r->chunked = 1;
    } else if (name_is(name, nl, "Content-Length")) {
        size_t len = 0;
        for (size_t i = 0; i < vl; i++)
            len = v[i] >= '0' && v[i] <= '9' && len < FLOOR_IN_MAX ? len * 10 + (size_t)(v[i] - '0')
                                                                    : FLOOR_IN_MAX;
        r->content_length = vl ? len : FLOOR_IN_MAX;
    }
}

/* Header lines in [p, end), each ending with \r\n. */
static int parse_headers(const char *p, const char *end, http_req *r)
{
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        const char *colon = eol ? memchr(p, ':', (size_t)(eol - p)) : NULL;
        if (!eol || eol[1] != '\n' || !colon || colon == p)
            return -1;
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        on_header(r, p, (size_t)(colon - p), v, (size_t)(ve - v));
        p = eol + 2;
    }
    return 0;
}

/* EIO, transport and sid from the target's query. */
static void parse_query(http_req *r)
{
    const char *q = memchr(r->target, '?', r->target_len), *end = r->target + r->target_len;
    while (q && q < end) {
        const char *k = q + 1, *amp = memchr(k, '&', (size_t)(end - k)), *e = amp ? amp : end;
        const char *eq = memchr(k, '=', (size_t)(e - k));
        const char *v = eq ? eq + 1 : e;
        size_t kl = (size_t)((eq ? eq : e) - k), vl = (size_t)(e - v);
        if (kl == 3 && memcmp(k, "EIO", 3) == 0) {
            r->eio = v;
            r->eio_len = vl;
        } else if (kl == 9 && memcmp(k, "transport", 9) == 0) {
            r->transport = v;
            r->transport_len = vl;
        } else if (kl == 3 && memcmp(k, "sid", 3) == 0) {
            r->sid = v;
            r->sid_len = vl;
        }
        q = amp;
    }
}

/* "METHOD SP target SP HTTP/1.x\r\n" headers; head_end is after the last header's \r\n. */
static int parse_head(const char *p, const char *head_end, http_req *r)
{
    const char *eol = memchr(p, '\r', (size_t)(head_end - p));
    const char *sp1 = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp2 || sp1 == p || sp2 == sp1 + 1 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -1;
    r->method = p;
    r->method_len = (size_t)(sp1 - p);
    r->target = sp1 + 1;
    r->target_len = (size_t)(sp2 - sp1 - 1);
    parse_query(r);
    return parse_headers(eol + 2, head_end, r);
}

static int is(const char *p, size_t n, const char *s)
{
    return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Returns 0 when the request was handled, -1 when it is refused. */
static int route(floor_conn *c, const http_req *r, char *body)
{
    int get = is(r->method, r->method_len, "GET"), post = is(r->method, r->method_len, "POST");
    if (!is(r->eio, r->eio_len, "4"))
        return -1;
    if (is(r->transport, r->transport_len, "websocket")) {
        if (!get || !r->upgrade_ws || !r->key || r->sid)
            return -1;
        ws_upgrade(c, r->key, r->key_len);
        return 0;
    }
    if (!is(r->transport, r->transport_len, "polling"))
        return -1;
    if (get && !r->sid)
        poll_open(c);
    else if (get)
        poll_get(c, r->sid, r->sid_len);
    else if (post && r->sid)
        poll_post(c, r->sid, r->sid_len, body, r->content_length);
    else
        return -1;
    return 0;
}

ssize_t http_on_input(floor_conn *c, char *p, size_t n)
{
    if (c->sess) /* input while its GET is held: not HTTP as sio-bench speaks it */
        return -1;
    const char *end = memmem(p, n < HEAD_MAX ? n : HEAD_MAX, "\r\n\r\n", 4);
    if (!end)
        return n >= HEAD_MAX ? refuse(c, 431, n) : 0;
    size_t head = (size_t)(end - p) + 4;
    http_req r = {0};
    if (parse_head(p, end + 2, &r) || r.chunked)
        return refuse(c, 400, n);
    if (head + r.content_length > FLOOR_IN_MAX)
        return refuse(c, 413, n);
    if (n < head + r.content_length)
        return 0;
    if (route(c, &r, p + head))
        return refuse(c, 400, head + r.content_length);
    return (ssize_t)(head + r.content_length);
}
