/* fuzz_http1: HTTP/1.1 requests as the edge reads them (server/net/http1.c
 * over http-parser), on a stand-in connection that records what is written.
 * The first byte picks how the rest is cut into reads (the parser must not
 * care) and whether requests are answered at once or held one read long (a
 * long-poll); the rest is what the client sent.
 *
 * Invariants: every request handed over is well-formed (path starts the URL,
 * lengths match, header names are lower case without blanks, the body within
 * the handler's bound); requests are handed over one at a time, each answered
 * before the next; everything written is whole HTTP/1.1 responses with a
 * Content-Length (or the 100 Continue interim), in the order of the requests;
 * once closed, nothing more is written or dispatched; nothing leaks. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "conn.h"
#include "http1.h"

#define MAX_BODY 1000

typedef struct harness {
    bytebuf out;
    int closed;
    int deferred;
    int held;      /* a request waits for its answer */
    int hold_mode; /* answer one read later */
    unsigned dispatched;
} harness;

static harness H;

/* ---- the stand-in connection ---------------------------------------------------- */

int conn_alive(const conn *c) { return c->state == CONN_OPEN; }
int conn_buffered(conn *c) { return 0; }
void conn_set_deadline(conn *c, enum conn_deadline which) { c->dl = (uint8_t)which; }
void conn_enter_head(conn *c) {}
void conn_leave_head(conn *c) {}
void conn_defer(conn *c) { H.deferred = 1; }
void conn_kill(conn *c) { c->state = CONN_DEAD; }
void conn_read_enable(conn *c, int on) {}

int conn_write(conn *c, const void *p, size_t n)
{
    if (!conn_alive(c))
        abort(); /* http1 must not write to a closed connection */
    return bytebuf_append(&H.out, p, n);
}

int conn_writev(conn *c, const struct iovec *iov, int n)
{
    for (int i = 0; i < n; i++)
        if (conn_write(c, iov[i].iov_base, iov[i].iov_len))
            return -1;
    return 0;
}

void conn_close(conn *c, int graceful)
{
    c->state = CONN_DEAD;
    H.closed = 1;
}

/* ---- the handler ------------------------------------------------------------------ */

static void check_request(const http_request *r)
{
    if (!r->path || strlen(r->path) != r->path_len || strlen(r->query) != r->query_len ||
        r->body_len > MAX_BODY || (r->body_len && !r->body))
        abort();
    for (size_t i = 0; i < r->n_headers; i++) {
        const http_header *h = &r->headers[i];
        if (strlen(h->name) != h->name_len || strlen(h->value) != h->value_len)
            abort();
        for (const char *p = h->name; *p; p++)
            if ((*p >= 'A' && *p <= 'Z') || *p == ' ' || *p == '\t')
                abort();
        if (h->value_len && (h->value[0] == ' ' || h->value[h->value_len - 1] == ' '))
            abort();
    }
}

static void answer(conn *c)
{
    static const char body[] = "ok";
    http_response r = {200, "Content-Type: text/plain\r\n", body, 2, 0};
    H.held = 0;
    http1_respond(c, &r);
}

static void on_request(void *ctx, conn *c, const http_request *req)
{
    if (H.held || H.closed)
        abort(); /* one request at a time, never after the close */
    H.dispatched++;
    check_request(req);
    if (http1_pending(c) != req)
        abort();
    H.held = 1;
    if (!H.hold_mode)
        answer(c);
}

static void on_abort(void *ctx, conn *c)
{
    H.held = 0;
}

static const http_handler handler = {NULL, MAX_BODY, on_request, on_abort, NULL};

static const http_handler *route(void *ctx, const char *path, size_t len)
{
    return len >= 2 && memcmp(path, "/x", 2) == 0 ? NULL : &handler; /* /x...: 404 */
}

/* ---- the output ------------------------------------------------------------------- */

/* Everything written must be whole responses, each with a Content-Length. */
static void check_output(void)
{
    if (!H.out.len)
        return;
    const char *p = (const char *)H.out.data, *end = p + H.out.len;
    while (p < end) {
        if (end - p < 9 || memcmp(p, "HTTP/1.1 ", 9) != 0)
            abort();
        const char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!head_end)
            abort();
        if (memcmp(p, "HTTP/1.1 100 ", 13) == 0) {
            p = head_end + 4;
            continue;
        }
        const char *cl = memmem(p, (size_t)(head_end - p), "Content-Length: ", 16);
        if (!cl)
            abort();
        size_t len = strtoul(cl + 16, NULL, 10);
        if ((size_t)(end - (head_end + 4)) < len)
            abort();
        p = head_end + 4 + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    memset(&H, 0, sizeof(H));
    size_t step = (size_t)(data[0] & 0x7f) + 1;
    H.hold_mode = data[0] >> 7;
    data++;
    size--;
    conn c;
    memset(&c, 0, sizeof(c));
    c.state = CONN_OPEN;
    snprintf(c.peer_addr, sizeof(c.peer_addr), "127.0.0.1");
    http1_start(&c, route, NULL, 4096);
    for (size_t off = 0; off < size && conn_alive(&c); off += step) {
        size_t n = size - off < step ? size - off : step;
        uint8_t *chunk = malloc(n); /* a read: writable, gone after the call */
        memcpy(chunk, data + off, n);
        if (c.ops->on_data(&c, chunk, n))
            c.state = CONN_DEAD;
        free(chunk);
        if (H.held && conn_alive(&c))
            answer(&c); /* a long-poll answered one read later */
        if (H.deferred && conn_alive(&c)) {
            H.deferred = 0;
            c.ops->on_deferred(&c);
        }
    }
    c.ops->on_close(&c);
    check_output();
    bytebuf_free(&H.out);
    return 0;
}
