/* redis_conn: one self-reconnecting Redis connection on a libevent loop (the
 * contract is in redis_conn.h). A bufferevent (plain or OpenSSL) carries the
 * bytes; redis_reader (hiredis's reader, one reply's memory bounded) parses
 * replies; redisFormatCommandArgv formats the
 * commands. One timer serves three states: the reconnect delay (WAIT), the
 * connect + handshake deadline (CONNECTING) and the keepalive (UP).
 *
 * Re-entrancy: user callbacks may call any function here, including
 * redis_conn_free. Every libevent entry point counts itself in `busy`; a free
 * during a callback closes at once and leaves the final release to the
 * outermost entry point. */
#include "redis_conn.h"

#include "log.h"
#include "redis_reader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_INFLIGHT 65536u                 /* user commands awaiting a reply */
#define MAX_INTERNAL 8u                     /* AUTH, SELECT, PINGs on top */
#define MAX_REPLY_BYTES (64u * 1024 * 1024) /* one reply: unparsed input or objects */
#define MAX_PENDING_OUTPUT (64u * 1024 * 1024)
#define READ_HIGH_WATERMARK (1024u * 1024)
#define FEED_CHUNK 16384u
#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 5000u

enum conn_state { ST_WAIT, ST_CONNECTING, ST_UP, ST_CLOSED };
enum entry_kind { K_USER, K_AUTH, K_SELECT, K_READY, K_PING };

typedef struct pending {
    redis_reply_fn fn;
    void *ud;
    enum entry_kind kind;
} pending;

typedef struct pending_ring {
    pending *items;
    size_t cap, head, count;
} pending_ring;

struct redis_conn {
    struct event_base *base;
    redis_endpoint ep;
    redis_conn_callbacks cb;
    char name[32];
    uint32_t ping_interval_ms, ping_timeout_ms;
    SSL_CTX *ssl_ctx;
    struct evdns_base *dns;
    struct bufferevent *bev;
    redis_reader *reader;
    struct event *timer;
    enum conn_state state;
    unsigned gen;        /* bumped whenever the transport closes */
    int subscriber;
    unsigned attempt;    /* failed connects since the last up */
    uint64_t last_rx_ms, ping_sent_ms;
    pending_ring inflight;
    redis_conn_stats stats;
    int busy, freeing;
    int in_connect, sync_events, sync_errno; /* events raised inside connect */
};

static void conn_lost(redis_conn *c, const char *why);

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return evutil_inet_pton(AF_INET, host, buf) == 1 || evutil_inet_pton(AF_INET6, host, buf) == 1;
}

static void arm_timer(redis_conn *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static void destroy(redis_conn *c);

static void leave(redis_conn *c)
{
    if (--c->busy == 0 && c->freeing)
        destroy(c);
}

/* ---- the in-flight ring ------------------------------------------------- */

static int ring_grow(pending_ring *r)
{
    size_t cap = r->cap ? r->cap * 2 : 16;
    if (cap > MAX_INFLIGHT + MAX_INTERNAL)
        cap = MAX_INFLIGHT + MAX_INTERNAL;
    if (cap <= r->cap)
        return -1;
    pending *items = malloc(cap * sizeof(*items));
    if (!items)
        return -1;
    for (size_t i = 0; i < r->count; i++)
        items[i] = r->items[(r->head + i) % r->cap];
    free(r->items);
    r->items = items;
    r->cap = cap;
    r->head = 0;
    return 0;
}

static int ring_push(pending_ring *r, pending e)
{
    if (r->count == r->cap && ring_grow(r))
        return -1;
    r->items[(r->head + r->count) % r->cap] = e;
    r->count++;
    return 0;
}

static int ring_pop(pending_ring *r, pending *out)
{
    if (!r->count)
        return 0;
    *out = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    return 1;
}

static const pending *ring_head(const pending_ring *r)
{
    return r->count ? &r->items[r->head] : NULL;
}

/* Each callback of a lost command gets NULL, one at a time (re-entrant). */
static void fail_inflight(redis_conn *c)
{
    pending e;
    while (ring_pop(&c->inflight, &e))
        if (e.kind == K_USER && e.fn)
            e.fn(c, NULL, e.ud);
}

/* ---- closing and reconnecting ------------------------------------------- */

static void transport_close(redis_conn *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    redis_reader_free(c->reader);
    c->reader = NULL;
    c->ping_sent_ms = 0;
    c->gen++;
    if (c->timer)
        evtimer_del(c->timer);
    c->state = c->freeing ? ST_CLOSED : ST_WAIT;
}

static uint32_t jitter_ms(uint32_t base)
{
    uint32_t r;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        return base;
    /* base * [0.8, 1.2) */
    return (uint32_t)((uint64_t)base * 4 / 5 + (uint64_t)base * 2 / 5 * r / 4294967296u);
}

static uint32_t schedule_reconnect(redis_conn *c)
{
    unsigned shift = c->attempt < 6 ? c->attempt : 6;
    uint32_t base = BACKOFF_MIN_MS << shift;
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    uint32_t delay = jitter_ms(base);
    c->attempt++;
    c->state = ST_WAIT;
    arm_timer(c, delay);
    return delay;
}

/* Loss of the transport, up or not: reconnect later, tell the owner once per
 * loss of an up connection, then fail the commands in flight. */
static void conn_lost(redis_conn *c, const char *why)
{
    int was_up = c->state == ST_UP;
    transport_close(c);
    if (c->freeing)
        return;
    uint32_t delay = schedule_reconnect(c);
    if (was_up) {
        c->stats.disconnects++;
        log_json(LOG_WARN, "redis connection down",
                 json_pack("{sssssi}", "conn", c->name, "why", why, "retry_ms", (int)delay));
        if (c->cb.on_down)
            c->cb.on_down(c, why, c->cb.ctx);
    } else {
        log_json(LOG_WARN, "redis connect failed",
                 json_pack("{sssssi}", "conn", c->name, "why", why, "retry_ms", (int)delay));
    }
    fail_inflight(c);
}

static void protocol_error(redis_conn *c, const char *what)
{
    char why[200];
    c->stats.protocol_errors++;
    snprintf(why, sizeof why, "protocol error: %s", what);
    conn_lost(c, why);
}

/* ---- writing commands ---------------------------------------------------- */

/* Queues the entry, then the formatted command; undoes the entry on failure. */
static int send_command(redis_conn *c, pending e, int argc, const char **argv,
                        const size_t *argvlen, int track)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        return -1;
    if (track && ring_push(&c->inflight, e)) {
        redisFreeCommand(cmd);
        return -1;
    }
    int rc = bufferevent_write(c->bev, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (rc && track)
        c->inflight.count--; /* the entry just pushed is the last one */
    return rc ? -1 : 0;
}

static int send_internal(redis_conn *c, enum entry_kind kind, int argc, const char **argv)
{
    pending e = {NULL, NULL, kind};
    return send_command(c, e, argc, argv, NULL, 1);
}

/* After TCP/TLS is up: [AUTH] [SELECT] PING; on_up follows the PING's reply. */
static void send_handshake(redis_conn *c)
{
    const redis_endpoint *ep = &c->ep;
    char db[16];
    int rc = 0;
    if (ep->password && ep->user)
        rc |= send_internal(c, K_AUTH, 3, (const char *[]){"AUTH", ep->user, ep->password});
    else if (ep->password)
        rc |= send_internal(c, K_AUTH, 2, (const char *[]){"AUTH", ep->password});
    if (ep->db) {
        snprintf(db, sizeof db, "%d", ep->db);
        rc |= send_internal(c, K_SELECT, 2, (const char *[]){"SELECT", db});
    }
    rc |= send_internal(c, K_READY, 1, (const char *[]){"PING"});
    if (rc)
        conn_lost(c, "cannot queue the handshake (out of memory)");
}

/* ---- replies ------------------------------------------------------------- */

static int reply_is(const redisReply *r, const char *s)
{
    size_t n = strlen(s);
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
           r->len == n && strncasecmp(r->str, s, n) == 0;
}

/* "+PONG", or ["pong", ""] in subscriber context. */
static int is_pong(const redisReply *r)
{
    if (reply_is(r, "PONG"))
        return 1;
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && reply_is(r->element[0], "pong");
}

static int error_prefix(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp(r->str, prefix, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

static void go_up(redis_conn *c)
{
    c->state = ST_UP;
    c->attempt = 0;
    c->stats.connects++;
    c->last_rx_ms = now_ms();
    c->ping_sent_ms = 0;
    arm_timer(c, c->ping_interval_ms);
    log_json(LOG_INFO, "redis connection up",
             json_pack("{sssssisb}", "conn", c->name, "host", c->ep.host, "port", c->ep.port, "tls",
                       c->ep.tls));
    if (c->cb.on_up)
        c->cb.on_up(c, c->cb.ctx);
}

static void handshake_reply(redis_conn *c, const redisReply *r)
{
    static const char *const step[] = {"", "AUTH", "SELECT", "PING", "PING"};
    pending e;
    char why[200];
    if (!ring_pop(&c->inflight, &e)) {
        protocol_error(c, "unexpected reply during the handshake");
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "%s failed: %.150s", step[e.kind], r->str);
        conn_lost(c, why);
        return;
    }
    if (e.kind == K_READY)
        go_up(c);
}

/* The keepalive's reply: the next check is one interval away. */
static void pong_received(redis_conn *c)
{
    c->ping_sent_ms = 0;
    arm_timer(c, c->ping_interval_ms);
}

static void deliver_push(redis_conn *c, redisReply *r)
{
    const pending *head = ring_head(&c->inflight);
    if (head && head->kind == K_PING && is_pong(r)) {
        pending e;
        ring_pop(&c->inflight, &e);
        pong_received(c);
        return;
    }
    c->stats.replies++;
    if (c->cb.on_push)
        c->cb.on_push(c, r, c->cb.ctx);
}

static void deliver_reply(redis_conn *c, redisReply *r)
{
    pending e;
    if (!ring_pop(&c->inflight, &e)) {
        protocol_error(c, "reply without a command");
        return;
    }
    if (e.kind == K_PING) {
        pong_received(c);
        return;
    }
    c->stats.replies++;
    if (e.fn)
        e.fn(c, r, e.ud);
}

/* One complete reply: to the handshake, on_push or the command's callback;
 * then a READONLY / LOADING error reply closes the connection. */
static void dispatch(redis_conn *c, redisReply *r)
{
    if (c->state == ST_CONNECTING) {
        handshake_reply(c, r);
        freeReplyObject(r);
        return;
    }
    char why[200] = "";
    unsigned gen = c->gen;
    if (error_prefix(r, "READONLY") || error_prefix(r, "LOADING"))
        snprintf(why, sizeof why, "%.180s", r->str);
    if (c->subscriber)
        deliver_push(c, r);
    else
        deliver_reply(c, r);
    freeReplyObject(r);
    if (why[0] && c->gen == gen && !c->freeing)
        conn_lost(c, why);
}

/* Parses every complete reply; -1 once the transport went away. */
static int drain_replies(redis_conn *c, unsigned gen)
{
    for (;;) {
        redisReply *obj = NULL;
        if (redis_reader_next(c->reader, &obj)) {
            protocol_error(c, redis_reader_error(c->reader));
            return -1;
        }
        if (!obj)
            return 0;
        dispatch(c, obj);
        if (c->gen != gen)
            return -1;
    }
}

/* Feeds the input to the reader chunk by chunk, dispatching as it goes. The
 * bytes are drained before any callback runs (which may close the bev). */
static void feed_input(redis_conn *c)
{
    unsigned gen = c->gen;
    while (c->gen == gen) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            return;
        size_t n = v.iov_len < FEED_CHUNK ? v.iov_len : FEED_CHUNK;
        int rc = redis_reader_feed(c->reader, v.iov_base, n);
        evbuffer_drain(in, n);
        if (rc) {
            protocol_error(c, redis_reader_error(c->reader));
            return;
        }
        if (drain_replies(c, gen))
            return;
    }
}

/* ---- libevent entry points ----------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
    redis_conn *c = arg;
    c->busy++;
    c->last_rx_ms = now_ms();
    feed_input(c);
    leave(c);
}

/* Describes a TLS failure: 0, or -1 when the bufferevent holds no OpenSSL
 * error. libevent queues the SSL_get_error() code (library 0) and then
 * OpenSSL's errors, and hands them back last first: the message uses the
 * earliest real OpenSSL error, else the socket error (err). */
static int describe_tls_error(redis_conn *c, int err, char *buf, size_t len)
{
    char ossl[160] = "";
    unsigned long e;
    int any = 0;
    while ((e = bufferevent_get_openssl_error(c->bev))) {
        any = 1;
        if (ERR_GET_LIB(e) != 0)
            ERR_error_string_n(e, ossl, sizeof ossl);
    }
    if (!any)
        return -1;
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (!ossl[0])
        snprintf(buf, len, "TLS: I/O error: %s",
                 err ? evutil_socket_error_to_string(err) : "connection closed");
    else if (vr != X509_V_OK)
        snprintf(buf, len, "TLS: %s (certificate: %s)", ossl, X509_verify_cert_error_string(vr));
    else
        snprintf(buf, len, "TLS: %s", ossl);
    return 0;
}

static void describe_event(redis_conn *c, short what, int err, char *buf, size_t len)
{
    int dns = bufferevent_socket_get_dns_error(c->bev);
    if (dns)
        snprintf(buf, len, "cannot resolve %s: %s", c->ep.host, evutil_gai_strerror(dns));
    else if (c->ssl_ctx && describe_tls_error(c, err, buf, len) == 0)
        return;
    else if (what & BEV_EVENT_EOF)
        snprintf(buf, len, "connection closed by the server");
    else if (what & BEV_EVENT_TIMEOUT)
        snprintf(buf, len, "I/O timeout");
    else
        snprintf(buf, len, "I/O error: %s", err ? evutil_socket_error_to_string(err) : "unknown");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    redis_conn *c = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (c->in_connect) { /* raised inside bufferevent_socket_connect*: later */
        c->sync_events |= what;
        c->sync_errno = err;
        return;
    }
    c->busy++;
    if (what & BEV_EVENT_CONNECTED) {
        send_handshake(c);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char why[256];
        describe_event(c, what, err, why, sizeof why);
        conn_lost(c, why);
    }
    leave(c);
}

/* ---- connecting ---------------------------------------------------------- */

static SSL *new_ssl(redis_conn *c)
{
    SSL *ssl = SSL_new(c->ssl_ctx);
    if (!ssl)
        return NULL;
    const char *name = c->ep.sni ? c->ep.sni : c->ep.host;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    int ok;
    if (is_ip_literal(name)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
    } else {
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ssl, name) && X509_VERIFY_PARAM_set1_host(vp, name, 0);
    }
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

static struct bufferevent *new_bufferevent(redis_conn *c)
{
    if (!c->ssl_ctx)
        return bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
    SSL *ssl = new_ssl(c);
    if (!ssl)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1); /* a killed server is EOF */
    return bev;
}

/* DNS names resolve asynchronously (one evdns_base per connection, made on
 * first use); addresses need none. */
static struct evdns_base *dns_for(redis_conn *c)
{
    if (is_ip_literal(c->ep.host))
        return NULL;
    if (!c->dns)
        c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    return c->dns; /* NULL: libevent falls back to a blocking lookup */
}

static int open_transport(redis_conn *c, char *why, size_t len)
{
    c->reader = redis_reader_new(MAX_REPLY_BYTES);
    c->bev = c->reader ? new_bufferevent(c) : NULL;
    if (!c->bev) {
        snprintf(why, len, "cannot set up the %s connection", c->ssl_ctx ? "TLS" : "TCP");
        return -1;
    }
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH_WATERMARK);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->in_connect = 1;
    c->sync_events = 0;
    int rc = bufferevent_socket_connect_hostname(c->bev, dns_for(c), AF_UNSPEC, c->ep.host,
                                                 c->ep.port);
    c->in_connect = 0;
    if (rc < 0 || (c->sync_events & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
        describe_event(c, (short)(c->sync_events ? c->sync_events : BEV_EVENT_ERROR),
                       c->sync_errno, why, len);
        return -1;
    }
    return 0;
}

static void start_connect(redis_conn *c)
{
    char why[256];
    c->state = ST_CONNECTING;
    if (open_transport(c, why, sizeof why)) {
        conn_lost(c, why);
        return;
    }
    arm_timer(c, c->ping_timeout_ms); /* connect + TLS + handshake deadline */
}

/* ---- timer: reconnect, connect deadline, keepalive ------------------------ */

static void keepalive(redis_conn *c)
{
    uint64_t now = now_ms();
    if (c->ping_sent_ms) {
        uint64_t waited = now - c->ping_sent_ms;
        if (waited >= c->ping_timeout_ms) {
            char why[96];
            snprintf(why, sizeof why, "no reply to PING within %u ms", c->ping_timeout_ms);
            conn_lost(c, why);
        } else {
            arm_timer(c, c->ping_timeout_ms - waited);
        }
        return;
    }
    uint64_t idle = now - c->last_rx_ms;
    if (idle < c->ping_interval_ms) {
        arm_timer(c, c->ping_interval_ms - idle);
        return;
    }
    if (send_internal(c, K_PING, 1, (const char *[]){"PING"})) {
        conn_lost(c, "cannot queue the keepalive PING");
        return;
    }
    c->ping_sent_ms = now;
    arm_timer(c, c->ping_timeout_ms);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    redis_conn *c = arg;
    char why[96];
    c->busy++;
    switch (c->state) {
    case ST_WAIT:
        start_connect(c);
        break;
    case ST_CONNECTING:
        snprintf(why, sizeof why, "not ready within %u ms", c->ping_timeout_ms);
        conn_lost(c, why);
        break;
    case ST_UP:
        keepalive(c);
        break;
    case ST_CLOSED:
        break;
    }
    leave(c);
}

/* ---- construction --------------------------------------------------------- */

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

static int copy_endpoint(redis_endpoint *dst, const redis_endpoint *src)
{
    int fail = 0;
    *dst = *src;
    dst->host = dup_or_null(src->host, &fail);
    dst->user = dup_or_null(src->user, &fail);
    dst->password = dup_or_null(src->password, &fail);
    dst->ca_file = dup_or_null(src->ca_file, &fail);
    dst->sni = dup_or_null(src->sni, &fail);
    return fail || !dst->host ? -1 : 0;
}

static SSL_CTX *new_ssl_ctx(const redis_endpoint *ep, const char *name)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    int ok = ep->ca_file ? SSL_CTX_load_verify_locations(ctx, ep->ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        char e[160] = "";
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        log_json(LOG_ERROR, "redis: cannot load the CA",
                 json_pack("{ssssss}", "conn", name, "ca", ep->ca_file ? ep->ca_file : "default paths",
                           "error", e));
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void destroy(redis_conn *c)
{
    transport_close(c);
    if (c->timer)
        event_free(c->timer);
    if (c->dns)
        evdns_base_free(c->dns, 0);
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    free(c->inflight.items);
    redis_endpoint_free(&c->ep);
    free(c);
}

redis_conn *redis_conn_new(struct event_base *base, const redis_endpoint *ep,
                           const redis_conn_callbacks *cb, const char *name,
                           uint32_t ping_interval_ms, uint32_t ping_timeout_ms)
{
    if (!base || !ep || !ep->host || ep->port < 1 || ep->port > 65535)
        return NULL;
    redis_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base = base;
    if (cb)
        c->cb = *cb;
    snprintf(c->name, sizeof c->name, "%s", name ? name : "redis");
    c->ping_interval_ms = ping_interval_ms ? ping_interval_ms : 1000;
    c->ping_timeout_ms = ping_timeout_ms ? ping_timeout_ms : 3000;
    c->state = ST_WAIT;
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->timer || copy_endpoint(&c->ep, ep) ||
        (ep->tls && !(c->ssl_ctx = new_ssl_ctx(ep, c->name)))) {
        destroy(c);
        return NULL;
    }
    start_connect(c);
    return c;
}

/* ---- the owner's API ------------------------------------------------------ */

void redis_conn_set_subscriber(redis_conn *c, int on)
{
    if (c)
        c->subscriber = on != 0;
}

int redis_conn_command(redis_conn *c, redis_reply_fn fn, void *ud, int argc, const char **argv,
                       const size_t *argvlen)
{
    if (!c || c->state != ST_UP || argc <= 0 || !argv)
        return -1;
    if (!c->subscriber && c->inflight.count >= MAX_INFLIGHT)
        return -1;
    if (redis_conn_pending_bytes(c) >= MAX_PENDING_OUTPUT)
        return -1;
    pending e = {fn, ud, K_USER};
    if (send_command(c, e, argc, argv, argvlen, !c->subscriber))
        return -1;
    c->stats.commands++;
    return 0;
}

int redis_conn_retarget(redis_conn *c, const char *host, int port)
{
    if (!c || c->freeing || (c->ep.port == port && strcmp(c->ep.host, host) == 0))
        return 0;
    char *h = strdup(host);
    if (!h)
        return -1;
    free(c->ep.host);
    c->ep.host = h;
    c->ep.port = port;
    c->busy++;
    if (c->state != ST_WAIT)
        conn_lost(c, "the node it talked to is not the one wanted any more");
    if (!c->freeing) { /* at once, not after the backoff */
        c->attempt = 0;
        arm_timer(c, 1);
    }
    leave(c);
    return 0;
}

size_t redis_conn_inflight(const redis_conn *c)
{
    return c ? c->inflight.count : 0;
}

int redis_conn_is_up(const redis_conn *c)
{
    return c && c->state == ST_UP;
}

const redis_conn_stats *redis_conn_get_stats(const redis_conn *c)
{
    return &c->stats;
}

size_t redis_conn_pending_bytes(const redis_conn *c)
{
    if (!c || !c->bev)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void redis_conn_free(redis_conn *c)
{
    if (!c || c->freeing)
        return;
    c->freeing = 1;
    c->busy++;
    transport_close(c);
    fail_inflight(c);
    leave(c);
}
