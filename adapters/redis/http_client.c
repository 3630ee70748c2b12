/* http_client: JSON POSTs through libcurl's multi interface on a libevent loop
 * (the contract is in http_client.h). The pattern is curl's
 * docs/examples/multi-event.c: curl says which sockets to watch
 * (on_curl_socket) and when to wake it (on_curl_timer); libevent calls back
 * and we hand the event to curl_multi_socket_action, then collect finished
 * transfers (collect_done).
 *
 * A request is in one of two lists: `wire` (an easy handle in the multi) or
 * `queue` (waiting, FIFO, with its own deadline timer). A finished request
 * leaves its list before its callback runs, and is freed after.
 *
 * Re-entrancy: user callbacks run only from our libevent entry points and from
 * http_client_free, never inside a libcurl call. Every entry point counts
 * itself in `busy`; a free during a callback cancels everything at once and
 * leaves the final release (curl_multi_cleanup, the events, the struct) to the
 * outermost entry point, as redis_conn.c does. */
#include "http_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#define DEFAULT_MAX_INFLIGHT 64u
#define DEFAULT_MAX_QUEUED 4096u
#define DEFAULT_MAX_RESPONSE (1024u * 1024)
#define DEFAULT_TIMEOUT_MS 10000u
#define MAX_HEADER_BYTES (64u * 1024) /* all response header lines of one request */

typedef struct request request;

typedef struct req_list {
    request *head, *tail;
    uint32_t count;
} req_list;

struct request {
    http_client *c;
    request *prev, *next;     /* in c->wire or c->queue */
    CURL *easy;               /* on the wire only */
    struct event *deadline;   /* queued only */
    char *url, *body;
    size_t len;
    struct curl_slist *headers;
    uint32_t timeout_ms;
    uint64_t deadline_ms;
    http_done_fn fn;
    void *ud;
    char *resp;               /* the body so far, NUL-terminated */
    size_t resp_len, resp_cap, header_bytes;
    int too_big, headers_too_big;
    int get;                  /* a GET (http_client_get), else a POST of body */
    char errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
typedef struct sock_watch {
    http_client *c;
    struct sock_watch *prev, *next;
    struct event *ev;
    curl_socket_t fd;
} sock_watch;

struct http_client {
    struct event_base *base;
    http_client_config cfg;   /* defaults applied; ca_file points at ca_copy */
    char *ca_copy;
    CURLM *multi;
    struct event *timer;      /* curl's timeout */
    sock_watch *watches;
    req_list wire, queue;
    http_client_stats stats;
    int busy, freeing;
};

static void destroy(http_client *c);

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval ms_to_tv(uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void leave(http_client *c)
{
    if (--c->busy == 0 && c->freeing)
        destroy(c);
}

static void list_push(req_list *l, request *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->count++;
}

static void list_unlink(req_list *l, request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->count--;
}

static void sync_counts(http_client *c)
{
    c->stats.inflight = c->wire.count;
    c->stats.queued = c->queue.count;
}

/* ---- requests ------------------------------------------------------------ */

static void request_free(request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    if (r->deadline)
        event_free(r->deadline);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r->body);
    free(r->resp);
    free(r);
}

static int append_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -ENOMEM;
    *list = l;
    return 0;
}

/* Content-Type, no Expect, then the caller's lines (checked before). */
static int build_headers(request *r, const char *const *headers)
{
    if (append_header(&r->headers, "Content-Type: application/json") ||
        append_header(&r->headers, "Expect:"))
        return -ENOMEM;
    for (size_t i = 0; headers && headers[i]; i++)
        if (append_header(&r->headers, headers[i]))
            return -ENOMEM;
    return 0;
}

static request *request_new(http_client *c, const char *url, const char *const *headers,
                            const char *body, size_t len, uint32_t timeout_ms)
{
    request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->c = c;
    r->url = strdup(url);
    r->body = malloc(len + 1);
    r->len = len;
    r->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
    r->deadline_ms = now_ms() + r->timeout_ms;
    if (!r->url || !r->body || build_headers(r, headers)) {
        request_free(r);
        return NULL;
    }
    if (len)
        memcpy(r->body, body, len);
    r->body[len] = '\0';
    return r;
}

/* Runs the callback once; the request is already out of its list. */
static void deliver(request *r, int status, int error, const char *text)
{
    http_client *c = r->c;
    int ok = error == 0;
    http_result res = {status, error, ok ? "" : text, ok && r->resp ? r->resp : "",
                       ok ? r->resp_len : 0};
    if (!ok)
        c->stats.failures++;
    if (error == -ETIMEDOUT)
        c->stats.timeouts++;
    sync_counts(c);
    r->fn(r->ud, &res);
}

static void fail_and_free(request *r, int error, const char *text)
{
    deliver(r, 0, error, text);
    request_free(r);
}

static void timeout_text(const request *r, char *buf, size_t len)
{
    snprintf(buf, len, "timed out after %u ms", r->timeout_ms);
}

/* ---- libcurl callbacks (never call user code) ----------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    request *r = arg;
    size_t n = size * nmemb; /* size is 1 */
    size_t max = r->c->cfg.max_response_bytes;
    if (n > max - r->resp_len) {
        r->too_big = 1;
        return 0; /* != n: curl aborts with CURLE_WRITE_ERROR */
    }
    if (r->resp_len + n + 1 > r->resp_cap) {
        size_t cap = r->resp_cap ? r->resp_cap : 4096;
        while (cap < r->resp_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *p = realloc(r->resp, cap);
        if (!p)
            return 0;
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    request *r = arg;
    size_t n = size * nmemb;
    if (n > MAX_HEADER_BYTES - r->header_bytes) {
        r->headers_too_big = 1;
        return 0;
    }
    r->header_bytes += n;
    return n;
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg);

static void watch_free(http_client *c, sock_watch *w)
{
    if (!w)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    event_free(w->ev);
    free(w);
}

static sock_watch *watch_new(http_client *c, curl_socket_t fd)
{
    sock_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->ev = event_new(c->base, fd, EV_READ, on_socket_event, w);
    if (!w->ev || curl_multi_assign(c->multi, fd, w) != CURLM_OK) {
        if (w->ev)
            event_free(w->ev);
        free(w);
        return NULL;
    }
    w->c = c;
    w->fd = fd;
    w->next = c->watches;
    if (w->next)
        w->next->prev = w;
    c->watches = w;
    return w;
}

/* Both curl callbacks return 0 even when libevent fails (out of memory): -1
 * would mark the whole multi handle dead for good. An unwatched socket's
 * transfer ends at its timeout instead. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_client *c = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        watch_free(c, w);
        return 0;
    }
    if (!w && !(w = watch_new(c, fd)))
        return 0;
    short kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    event_del(w->ev);
    if (event_assign(w->ev, c->base, fd, kind, on_socket_event, w) == 0)
        event_add(w->ev, NULL);
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    http_client *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = ms_to_tv((uint64_t)timeout_ms);
    evtimer_add(c->timer, &tv);
    return 0;
}

/* ---- starting transfers --------------------------------------------------- */

static int setup_easy(request *r, CURL *e, uint32_t remaining_ms)
{
    const http_client_config *cfg = &r->c->cfg;
    int rc = CURLE_OK;
    rc |= curl_easy_setopt(e, CURLOPT_URL, r->url);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_PROXY, "");
    rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (r->get) {
        rc |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    }
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "sio");
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)remaining_ms);
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_response_bytes);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->ca_file) { /* that file only, not the system CAs besides */
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
        rc |= curl_easy_setopt(e, CURLOPT_CAPATH, (char *)NULL);
    }
    return rc == CURLE_OK ? 0 : -ENOMEM;
}

/* Onto the wire, with what is left of its deadline. */
static int request_start(request *r)
{
    http_client *c = r->c;
    uint64_t now = now_ms();
    uint64_t left = r->deadline_ms > now ? r->deadline_ms - now : 1;
    r->easy = curl_easy_init();
    if (!r->easy || setup_easy(r, r->easy, (uint32_t)left) ||
        curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        if (r->easy)
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
        return -ENOMEM;
    }
    list_push(&c->wire, r);
    sync_counts(c);
    return 0;
}

static void on_queue_deadline(evutil_socket_t fd, short what, void *arg)
{
    request *r = arg;
    http_client *c = r->c;
    char text[64];
    c->busy++;
    list_unlink(&c->queue, r);
    timeout_text(r, text, sizeof text);
    fail_and_free(r, -ETIMEDOUT, text);
    leave(c);
}

static int request_enqueue(request *r)
{
    http_client *c = r->c;
    struct timeval tv = ms_to_tv(r->timeout_ms);
    r->deadline = evtimer_new(c->base, on_queue_deadline, r);
    if (!r->deadline || evtimer_add(r->deadline, &tv))
        return -ENOMEM;
    list_push(&c->queue, r);
    sync_counts(c);
    return 0;
}

/* Moves waiting requests onto the wire while there is room (may run callbacks). */
static void start_queued(http_client *c)
{
    while (!c->freeing && c->queue.head && c->wire.count < c->cfg.max_inflight) {
        request *r = c->queue.head;
        list_unlink(&c->queue, r);
        event_free(r->deadline);
        r->deadline = NULL;
        if (request_start(r))
            fail_and_free(r, -EIO, "cannot set up the transfer (out of memory)");
    }
}

/* ---- finished transfers ---------------------------------------------------- */

static int is_protocol_error(CURLcode rc)
{
    return rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_UNSUPPORTED_PROTOCOL ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_BAD_CONTENT_ENCODING || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

/* The negative errno of a failed transfer, its text in buf. */
static int map_error(const request *r, CURLcode rc, char *buf, size_t len)
{
    const char *what = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
    long os_errno = 0;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        timeout_text(r, buf, len);
        return -ETIMEDOUT;
    }
    if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED || r->headers_too_big) {
        snprintf(buf, len, "response %s over %zu bytes", r->headers_too_big ? "headers" : "body",
                 r->headers_too_big ? (size_t)MAX_HEADER_BYTES : r->c->cfg.max_response_bytes);
        return -EMSGSIZE;
    }
    snprintf(buf, len, "%s", what);
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
        return -ECONNREFUSED;
    return is_protocol_error(rc) ? -EPROTO : -EIO;
}

static void finish(http_client *c, CURL *easy, CURLcode rc)
{
    char *priv = NULL;
    long status = 0;
    char text[CURL_ERROR_SIZE + 32] = "";
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    request *r = (request *)priv;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(c->multi, easy);
    list_unlink(&c->wire, r);
    int error = rc == CURLE_OK ? 0 : map_error(r, rc, text, sizeof text);
    deliver(r, (int)status, error, text);
    request_free(r);
}

/* Every finished transfer's callback, then the queue moves up. */
static void collect_done(http_client *c)
{
    CURLMsg *m;
    int left;
    while (!c->freeing && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle; /* m dies with the removal */
        finish(c, easy, m->data.result);
    }
    start_queued(c);
}

/* ---- libevent entry points ------------------------------------------------- */

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    sock_watch *w = arg;
    http_client *c = w->c; /* w may go inside curl_multi_socket_action */
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    c->busy++;
    curl_multi_socket_action(c->multi, fd, action, &running);
    collect_done(c);
    leave(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    http_client *c = arg;
    int running;
    c->busy++;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(c);
    leave(c);
}

/* ---- construction ---------------------------------------------------------- */

static CURLcode global_rc = CURLE_FAILED_INIT;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void apply_defaults(http_client_config *dst, const http_client_config *src)
{
    if (src)
        *dst = *src;
    if (!dst->max_inflight)
        dst->max_inflight = DEFAULT_MAX_INFLIGHT;
    if (!dst->max_queued)
        dst->max_queued = DEFAULT_MAX_QUEUED;
    if (!dst->max_response_bytes)
        dst->max_response_bytes = DEFAULT_MAX_RESPONSE;
}

static int setup_multi(http_client *c)
{
    long conns = (long)c->cfg.max_inflight;
    int rc = CURLM_OK;
    c->multi = curl_multi_init();
    if (!c->multi)
        return -1;
    rc |= curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, conns);
    rc |= curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    return rc == CURLM_OK ? 0 : -1;
}

static void destroy(http_client *c)
{
    if (c->multi)
        curl_multi_cleanup(c->multi); /* may still report sockets removed */
    while (c->watches)
        watch_free(c, c->watches);
    if (c->timer)
        event_free(c->timer);
    free(c->ca_copy);
    free(c);
}

http_client *http_client_new(struct event_base *base, const http_client_config *cfg)
{
    pthread_once(&global_once, global_init);
    if (!base || global_rc != CURLE_OK)
        return NULL;
    http_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base = base;
    apply_defaults(&c->cfg, cfg);
    c->cfg.ca_file = NULL;
    if (cfg && cfg->ca_file && !(c->cfg.ca_file = c->ca_copy = strdup(cfg->ca_file))) {
        destroy(c);
        return NULL;
    }
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->timer || setup_multi(c)) {
        destroy(c);
        return NULL;
    }
    return c;
}

/* ---- the owner's API -------------------------------------------------------- */

/* http:// or https:// with a host, as libcurl's own URL parser reads it. */
static int check_url(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return -EINVAL;
    CURLU *u = curl_url();
    char *host = NULL;
    if (!u)
        return -ENOMEM;
    int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    curl_free(host);
    curl_url_cleanup(u);
    return ok ? 0 : -EINVAL;
}

static int check_headers(const char *const *headers)
{
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *h = headers[i];
        const char *colon = strchr(h, ':');
        if (!colon || colon == h || strpbrk(h, "\r\n"))
            return -EINVAL;
    }
    return 0;
}

static int submit(http_client *c, const char *url, const char *const *headers, const char *body,
                  size_t len, int get, uint32_t timeout_ms, http_done_fn fn, void *ud)
{
    if (!c || !url || !fn || (!body && len))
        return -EINVAL;
    if (c->freeing)
        return -ECANCELED;
    int rc = check_url(url);
    if (rc || (rc = check_headers(headers)))
        return rc;
    int now = c->wire.count < c->cfg.max_inflight && !c->queue.head;
    if (!now && c->queue.count >= c->cfg.max_queued) {
        c->stats.failures++;
        return -ENOBUFS;
    }
    request *r = request_new(c, url, headers, body, len, timeout_ms);
    if (!r)
        return -ENOMEM;
    r->get = get;
    r->fn = fn;
    r->ud = ud;
    rc = now ? request_start(r) : request_enqueue(r);
    if (rc) {
        request_free(r);
        return rc;
    }
    c->stats.requests++;
    return 0;
}

int http_client_post(http_client *c, const char *url, const char *const *headers,
                     const char *body, size_t len, uint32_t timeout_ms, http_done_fn fn, void *ud)
{
    return submit(c, url, headers, body, len, 0, timeout_ms, fn, ud);
}

int http_client_get(http_client *c, const char *url, const char *const *headers,
                    uint32_t timeout_ms, http_done_fn fn, void *ud)
{
    return submit(c, url, headers, NULL, 0, 1, timeout_ms, fn, ud);
}

const http_client_stats *http_client_get_stats(const http_client *c)
{
    return &c->stats;
}

/* In flight first, then the queue, each callback once (re-entrant). */
static void cancel_all(http_client *c)
{
    request *r;
    while ((r = c->wire.head)) {
        list_unlink(&c->wire, r);
        curl_multi_remove_handle(c->multi, r->easy);
        fail_and_free(r, -ECANCELED, "cancelled: the client was freed");
    }
    while ((r = c->queue.head)) {
        list_unlink(&c->queue, r);
        fail_and_free(r, -ECANCELED, "cancelled: the client was freed");
    }
}

void http_client_free(http_client *c)
{
    if (!c || c->freeing)
        return;
    c->freeing = 1;
    c->busy++;
    cancel_all(c);
    leave(c);
}
