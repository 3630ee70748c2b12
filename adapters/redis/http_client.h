/* http_client: HTTP/1.1 POSTs of JSON (and GETs) from a libevent loop (libcurl multi). One thread.
 *
 * Used by the cluster thread's backend proxies: each connect / client event is
 * POSTed to the application backend and its JSON answer used; and by the ECS
 * task metadata watch (GET). libcurl's multi
 * interface is driven by the owner's event_base (CURLMOPT_SOCKETFUNCTION +
 * CURLMOPT_TIMERFUNCTION + curl_multi_socket_action), so connection reuse
 * (keep-alive, at most max_inflight connections), TLS (OpenSSL, peer and host
 * verified), HTTP parsing and timeouts are libcurl's.
 *
 * Requests: redirects are not followed (a 3xx is a result like any status,
 * error 0: callers treat non-2xx as failure); no proxy, whatever the
 * environment says; only http:// and https://; no "Expect: 100-continue".
 * `timeout_ms` (0: 10000) bounds the whole exchange from http_client_post on:
 * time waiting in the queue, connect, TLS, and a body dripping in slowly. A
 * body past max_response_bytes is aborted as it arrives (-EMSGSIZE), as are
 * response headers past 64 KiB. Memory: at most max_inflight + max_queued
 * requests, each holding its copied body and up to max_response_bytes.
 *
 * Results: every accepted request's callback runs exactly once, from the loop
 * (never inside http_client_post). r->body is "" whenever r->error != 0.
 *
 * Re-entrancy: callbacks may call http_client_post, http_client_get_stats and
 * http_client_free. Once http_client_free has begun (a callback of a cancelled
 * request runs inside it) http_client_post returns -ECANCELED.
 *
 * The process must ignore SIGPIPE (sio does): libcurl is told not to touch
 * signals (CURLOPT_NOSIGNAL). curl_global_init runs once, on the first
 * http_client_new; library code writes nothing to stderr. */
#ifndef SIO_HTTP_CLIENT_H
#define SIO_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct http_client http_client;

typedef struct http_client_config {
    uint32_t max_inflight;      /* requests on the wire at once (0: 64); more wait, FIFO */
    uint32_t max_queued;        /* waiting beyond that (0: 4096); then http_client_post returns -ENOBUFS */
    size_t max_response_bytes;  /* a bigger body fails with -EMSGSIZE (0: 1 MiB) */
    const char *ca_file;        /* NULL: the system CAs */
} http_client_config;

typedef struct http_result {
    int status;              /* the HTTP status, 0 when none arrived */
    int error;               /* 0 or a negative errno: -ETIMEDOUT, -ECONNREFUSED, -EMSGSIZE, -EPROTO
                              * (not HTTP, bad framing), -ECANCELED (client freed), -EIO (anything else) */
    const char *error_text;  /* "" when error is 0; short, human ("timed out after 3000 ms") */
    const char *body;        /* NUL-terminated, borrowed for the callback only ("" when none) */
    size_t body_len;
} http_result;

typedef void (*http_done_fn)(void *ud, const http_result *r);

/* cfg may be NULL (all defaults; the CA file is copied). NULL on failure
 * (memory, curl_global_init). */
http_client *http_client_new(struct event_base *base, const http_client_config *cfg);

/* Every unfinished request's callback runs once with -ECANCELED, then it frees. */
void http_client_free(http_client *c);

/* POSTs `body` (copied) as application/json to `url` (http or https) with extra header
 * lines `headers` ("Name: value", NULL-terminated list, may be NULL). `fn` runs exactly
 * once, always later from the loop (never inside this call). Returns 0, -ENOBUFS (queue
 * full), -EINVAL (bad URL: only http:// and https:// are allowed; also a header line
 * without a ':' or with CR / LF, or a NULL fn), -ENOMEM. */
int http_client_post(http_client *c, const char *url, const char *const *headers,
                     const char *body, size_t len, uint32_t timeout_ms, http_done_fn fn, void *ud);

/* The same for a GET of `url` (no body), e.g. the ECS task metadata. */
int http_client_get(http_client *c, const char *url, const char *const *headers,
                    uint32_t timeout_ms, http_done_fn fn, void *ud);

/* Counters for /metrics. requests: accepted by http_client_post or _get; failures:
 * results with error != 0 (timeouts and cancellations included) and posts
 * refused with -ENOBUFS; timeouts: results with -ETIMEDOUT. */
typedef struct http_client_stats { uint64_t requests, failures, timeouts; uint32_t inflight, queued; } http_client_stats;
const http_client_stats *http_client_get_stats(const http_client *c);

#endif
