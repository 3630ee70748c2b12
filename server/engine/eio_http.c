/* eio_http: what the transports need of HTTP: answers with the request's
 * CORS headers and engine.io's JSON errors, the stickiness cookie, the
 * preflight, poll answers gzip/deflate-encoded per Accept-Encoding
 * (HTTP_COMPRESSION, net/http_compress.h), and what a session keeps of its
 * handshake request (the client's address among it). */
#include "eio_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "http_compress.h"


static const char *const error_messages[] = {
    "Transport unknown",    "Session ID unknown", "Bad handshake method",
    "Bad request",          "Forbidden",          "Unsupported protocol version",
};

const char *eio_error_message(int code)
{
    return code >= 0 && code <= 5 ? error_messages[code] : "Bad request";
}

/* ---- CORS ---------------------------------------------------------------------- */

static int origin_listed(const char *list, const char *origin, size_t olen)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if ((size_t)(t - p) == olen && memcmp(p, origin, olen) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* The Origin to echo: NULL for none (no CORS configured, no Origin header),
 * "*" for any; *refused set when the Origin is not allowed. */
const char *eio_cors_origin(const eio_server *srv, const http_request *req, int *refused)
{
    const char *allowed = srv->cfg.cors_origins;
    *refused = 0;
    if (!allowed)
        return NULL;
    if (strcmp(allowed, "*") == 0)
        return "*";
    const http_header *o = http_request_header(req, "origin");
    if (!o || !o->value_len)
        return NULL; /* same-origin or non-browser client */
    if (!origin_listed(allowed, o->value, o->value_len)) {
        *refused = 1;
        return NULL;
    }
    return o->value;
}

static int cors_headers(const eio_server *srv, const http_request *req, char *out, size_t len)
{
    int refused;
    const char *origin = eio_cors_origin(srv, req, &refused);
    if (!origin)
        return snprintf(out, len, "%s", "");
    if (strcmp(origin, "*") == 0)
        return snprintf(out, len, "Access-Control-Allow-Origin: *\r\n");
    return snprintf(out, len,
                    "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
                    "Access-Control-Allow-Credentials: true\r\n",
                    origin);
}

/* engine.io's httpCompression: a poll's answer (a GET's 200) of at least the
 * threshold goes gzip- or deflate-encoded as Accept-Encoding prefers, into
 * `z`; anything else, or a failure, goes as it is (HTTP_ENC_NONE). */
static enum http_encoding encode_body(const eio_server *srv, const http_request *req,
                                      unsigned status, const void *body, size_t len, bytebuf *z)
{
    if (!srv->cfg.http_compression || req->method != HTTP_GET || status != 200 || !len ||
        len < srv->cfg.http_compression_threshold)
        return HTTP_ENC_NONE;
    const http_header *h = http_request_header(req, "accept-encoding");
    enum http_encoding e = http_pick_encoding(h ? h->value : NULL, h ? h->value_len : 0);
    if (e == HTTP_ENC_NONE || http_compress(e, body, len, z) == 0)
        return e;
    bytebuf_free(z);
    return HTTP_ENC_NONE;
}

static int respond(eio_server *srv, conn *c, const http_request *req, unsigned status,
                   const char *ctype, const char *extra, const void *body, size_t len,
                   enum http_encoding enc)
{
    char headers[1536];
    int n = ctype ? snprintf(headers, sizeof(headers), "Content-Type: %s\r\n", ctype) : 0;
    if (enc != HTTP_ENC_NONE)
        n += snprintf(headers + n, sizeof(headers) - (size_t)n, "Content-Encoding: %s\r\n",
                      http_encoding_name(enc));
    n += snprintf(headers + n, sizeof(headers) - (size_t)n, "%s", extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof(headers) ||
        (size_t)cors_headers(srv, req, headers + n, sizeof(headers) - (size_t)n) >=
            sizeof(headers) - (size_t)n)
        return -1;
    http_response r = {status, headers, body, len, 0};
    return http1_respond(c, &r);
}

int eio_respond(eio_server *srv, conn *c, const http_request *req, unsigned status,
                const char *ctype, const char *extra, const void *body, size_t len)
{
    bytebuf z = BYTEBUF_INIT;
    enum http_encoding enc = encode_body(srv, req, status, body, len, &z);
    int rc = enc == HTTP_ENC_NONE ? respond(srv, c, req, status, ctype, extra, body, len, enc)
                                  : respond(srv, c, req, status, ctype, extra, z.data, z.len, enc);
    bytebuf_free(&z);
    return rc;
}

int eio_respond_error(eio_server *srv, conn *c, const http_request *req, int code)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", code,
                     eio_error_message(code));
    return eio_respond(srv, c, req, code == 4 ? 403 : 400, "application/json", NULL, body,
                       (size_t)n);
}

int eio_respond_preflight(eio_server *srv, conn *c, const http_request *req)
{
    char extra[1024];
    const http_header *h = http_request_header(req, "access-control-request-headers");
    int n = snprintf(extra, sizeof(extra),
                     "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"
                     "%s%.*s%sVary: Access-Control-Request-Headers\r\n",
                     h ? "Access-Control-Allow-Headers: " : "", h ? (int)h->value_len : 0,
                     h ? h->value : "", h ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(extra))
        return eio_respond(srv, c, req, 400, NULL, NULL, NULL, 0);
    return eio_respond(srv, c, req, 204, NULL, extra, NULL, 0);
}

void eio_cookie_header(const eio_server *srv, const char *sid, char *out, size_t len)
{
    if (!srv->cfg.cookie_name) {
        out[0] = '\0';
        return;
    }
    snprintf(out, len, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Lax\r\n",
             srv->cfg.cookie_name, sid);
}

/* ---- what a session keeps of its handshake -------------------------------------- */

static const char *header_or_empty(const http_request *req, const char *name, size_t *len)
{
    const http_header *h = http_request_header(req, name);
    *len = h ? h->value_len : 0;
    return h ? h->value : "";
}

/* The last X-Forwarded-For line: several lines make one list, in order (RFC
 * 7230 3.2.2), and a proxy that adds its own line (haproxy's option
 * forwardfor) puts it after the client's. */
static const char *last_xff(const http_request *req, size_t *n)
{
    const http_header *last = NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, "x-forwarded-for") == 0)
            last = &req->headers[i];
    *n = last ? last->value_len : 0;
    return last ? last->value : "";
}

void eio_client_address(const http_request *req, char *out, size_t len)
{
    size_t n;
    const char *xff = last_xff(req, &n);
    /* the LAST hop is the one the load balancer appended; earlier ones can be forged */
    const char *last = xff + n;
    while (last > xff && last[-1] != ',')
        last--;
    const char *end = xff + n;
    while (last < end && (*last == ' ' || *last == '\t'))
        last++;
    while (end > last && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end > last) {
        snprintf(out, len, "%.*s", (int)(end - last), last);
        return;
    }
    snprintf(out, len, "%s", req->peer);
}

int eio_fill_request_info(eio_session *s, const http_request *req)
{
    enum { ADDR, QUERY, UA, ORIGIN, AUTH, COOKIE, URL, NFIELDS };
    const char *src[NFIELDS];
    size_t len[NFIELDS];
    char addr[64];
    eio_client_address(req, addr, sizeof(addr));
    src[ADDR] = addr;
    len[ADDR] = strlen(addr);
    src[QUERY] = req->query;
    len[QUERY] = req->query_len;
    src[UA] = header_or_empty(req, "user-agent", &len[UA]);
    src[ORIGIN] = header_or_empty(req, "origin", &len[ORIGIN]);
    src[AUTH] = header_or_empty(req, "authorization", &len[AUTH]);
    src[COOKIE] = header_or_empty(req, "cookie", &len[COOKIE]);
    size_t total = req->path_len + 1 + req->query_len + 1; /* url = path?query */
    for (int i = 0; i < URL; i++)
        total += len[i] + 1;
    size_t n_headers = s->srv->cfg.keep_headers ? req->n_headers : 0;
    for (size_t i = 0; i < n_headers; i++)
        total += req->headers[i].name_len + 2 + req->headers[i].value_len + 1;
    total += 1;
    char *buf = malloc(total), *p = buf; /* one allocation for every string */
    if (!buf)
        return -1;
    const char **dst[URL] = {&s->req.remote_addr, &s->req.query, &s->req.user_agent,
                             &s->req.origin, &s->req.authorization, &s->req.cookie};
    for (int i = 0; i < URL; i++) {
        *dst[i] = p;
        memcpy(p, src[i], len[i]);
        p += len[i];
        *p++ = '\0';
    }
    s->req.url = p;
    p += sprintf(p, "%s%s%s", req->path, req->query_len ? "?" : "", req->query) + 1;
    s->req.headers = p;
    for (size_t i = 0; i < n_headers; i++)
        p += sprintf(p, "%s: %s\n", req->headers[i].name, req->headers[i].value);
    *p = '\0';
    struct timeval tv;
    gettimeofday(&tv, NULL);
    s->req.issued_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    s->req_storage = buf;
    return 0;
}

