/* eio_http: small HTTP pieces shared by the transports: complete responses, the
 * Engine.IO JSON errors (byte-for-byte as engine.io), CORS, and copying what the
 * upper layer may want of the handshake request before lws frees the headers. */
#include "eio_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static const char *const error_messages[] = {
    "Transport unknown",    "Session ID unknown", "Bad handshake method",
    "Bad request",          "Forbidden",          "Unsupported protocol version",
};

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_cors_headers(struct lws *wsi, const eio_conn *c, unsigned char **p,
                            unsigned char *end)
{
    if (c->cors_mode == 1)
        return add_header(wsi, "access-control-allow-origin:", "*", p, end);
    if (c->cors_mode == 2)
        return add_header(wsi, "access-control-allow-origin:", c->cors_origin, p, end) ||
               add_header(wsi, "vary:", "Origin", p, end) ||
               add_header(wsi, "access-control-allow-credentials:", "true", p, end);
    return 0;
}

/* `extra_headers`: NULL, or "name:\0value\0name:\0value\0\0". */
int eio_http_respond(struct lws *wsi, const eio_conn *c, unsigned status, const char *ctype,
                     const char *extra_headers, const void *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 2048];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    if (lws_add_http_common_headers(wsi, status | LWSAHH_FLAG_NO_SERVER_NAME, ctype, len, &p, end))
        return -1;
    for (const char *h = extra_headers; h && *h;) {
        const char *v = h + strlen(h) + 1;
        if (add_header(wsi, h, v, &p, end))
            return -1;
        h = v + strlen(v) + 1;
    }
    if (add_cors_headers(wsi, c, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (len) {
        /* lws wants LWS_PRE bytes of headroom in front of what it writes */
        unsigned char small[LWS_PRE + 512];
        unsigned char *buf = len <= 512 ? small : malloc(LWS_PRE + len);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, body, len);
        int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        if (buf != small)
            free(buf);
        if (n < (int)len)
            return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

const char *eio_error_message(int code)
{
    return code >= 0 && code <= 5 ? error_messages[code] : "Bad request";
}

int eio_http_error(struct lws *wsi, const eio_conn *c, int code)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", code,
                     error_messages[code]);
    return eio_http_respond(wsi, c, code == 4 ? 403 : 400, "application/json", NULL, body,
                            (size_t)n);
}

static int origin_listed(const char *list, const char *origin)
{
    size_t olen = strlen(origin);
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

int eio_cors_check(eio_server *srv, struct lws *wsi, eio_conn *c)
{
    const char *allowed = srv->cfg.cors_origins;
    c->cors_mode = 0;
    c->cors_origin[0] = '\0';
    if (!allowed)
        return 0;
    if (strcmp(allowed, "*") == 0) {
        c->cors_mode = 1;
        return 0;
    }
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (n <= 0)
        return 0; /* same-origin or non-browser client */
    if (n >= (int)sizeof(c->cors_origin) ||
        lws_hdr_copy(wsi, c->cors_origin, sizeof(c->cors_origin), WSI_TOKEN_ORIGIN) < 0 ||
        !origin_listed(allowed, c->cors_origin)) {
        c->cors_origin[0] = '\0';
        return -1;
    }
    c->cors_mode = 2;
    return 0;
}

/* Copies one header into `dst` (NUL-terminated, "" when absent); returns bytes used. */
static size_t copy_header(struct lws *wsi, enum lws_token_indexes tok, char *dst, size_t room)
{
    int n = lws_hdr_total_length(wsi, tok);
    if (n <= 0 || (size_t)n >= room || lws_hdr_copy(wsi, dst, (int)room, tok) < 0) {
        dst[0] = '\0';
        return 1;
    }
    return (size_t)n + 1;
}

static size_t copy_query(struct lws *wsi, char *dst, size_t room)
{
    size_t used = 0;
    char frag[1024];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        size_t n = strlen(frag);
        if (used + n + 2 > room)
            break;
        if (used)
            dst[used++] = '&';
        memcpy(dst + used, frag, n);
        used += n;
    }
    dst[used] = '\0';
    return used + 1;
}

/* The client's address: the LAST entry of X-Forwarded-For (the one the load
 * balancer appended; earlier entries come from the client and can be forged),
 * else the TCP peer. */
void eio_remote_addr(struct lws *wsi, char *out, size_t len)
{
    char xff[512];
    if (copy_header(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof(xff)) > 1) {
        char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        snprintf(out, len, "%s", last);
        return;
    }
    out[0] = '\0';
    lws_get_peer_simple(wsi, out, len);
    /* an IPv4 peer on a dual-stack socket: report it as plain IPv4 */
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
        memmove(out, out + 7, strlen(out + 7) + 1);
}

int eio_fill_request_info(eio_session *s, struct lws *wsi)
{
    /* one allocation for every string; the header table is gone after the handshake */
    enum { ADDR, QUERY, UA, ORIGIN, AUTH, URL, NFIELDS };
    size_t off[NFIELDS];
    size_t room = 512 + 4096 + 512 + 512 + 8192 + 2048 + 4096 + 2;
    char *buf = malloc(room);
    if (!buf)
        return -1;
    size_t used = 0;

    off[ADDR] = used;
    eio_remote_addr(wsi, buf, 512);
    used += strlen(buf) + 1;
    off[QUERY] = used;
    used += copy_query(wsi, buf + used, 4096);
    off[UA] = used;
    used += copy_header(wsi, WSI_TOKEN_HTTP_USER_AGENT, buf + used, 512);
    off[ORIGIN] = used;
    used += copy_header(wsi, WSI_TOKEN_ORIGIN, buf + used, 512);
    off[AUTH] = used;
    used += copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, buf + used, 8192);
    off[URL] = used;
    size_t ulen = copy_header(wsi, WSI_TOKEN_GET_URI, buf + used, 2048);
    if (buf[off[QUERY]]) { /* url = path?query, as engine.io's req.url */
        buf[used + ulen - 1] = '?';
        strcpy(buf + used + ulen, buf + off[QUERY]);
        ulen += strlen(buf + off[QUERY]) + 1;
    }
    used += ulen;

    char *shrunk = realloc(buf, used); /* give back what was not used */
    if (shrunk)
        buf = shrunk;
    eio_request_info *r = &s->req;
    r->remote_addr = buf + off[ADDR];
    r->query = buf + off[QUERY];
    r->user_agent = buf + off[UA];
    r->origin = buf + off[ORIGIN];
    r->authorization = buf + off[AUTH];
    r->url = buf + off[URL];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    r->issued_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    s->req_storage = buf;
    return 0;
}
