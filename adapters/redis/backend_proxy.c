/* backend_proxy: see backend_proxy.h. */
#include "backend_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_wire.h"
#include "http_client.h"

struct backend_proxy {
    backend_proxy_config cfg;
    http_client *http;
    mailbox *to_edge;
    redis_adapter *redis;
    backend_limits limits;
    char node_header[160];
    backend_proxy_stats stats;
};

/* One request on its way: what the answer needs. */
typedef struct pending {
    backend_proxy *p;
    int type;
    uint64_t token;
    char nsp[260];
    char sid[32];
    void (*sse_done)(void *ud, json_t *ack); /* server_side_emit */
    void *sse_ud;
} pending;

static pending *pending_new(backend_proxy *p, int type, uint64_t token, const char *nsp,
                            const char *sid)
{
    pending *q = calloc(1, sizeof(*q));
    if (q) {
        *q = (pending){.p = p, .type = type, .token = token};
        snprintf(q->nsp, sizeof q->nsp, "%s", nsp);
        snprintf(q->sid, sizeof q->sid, "%s", sid);
    }
    return q;
}

/* ---- answers to the edge ------------------------------------------------------- */

static void answer_error(backend_proxy *p, const pending *q, int error, int status,
                         const char *text)
{
    p->stats.failed++;
    if (!q->token)
        return;
    backend_msg *m = backend_msg_new(MSG_BACKEND_DONE, q->type, q->token, q->nsp, q->sid);
    if (!m)
        return;
    m->error = error ? error : -EPROTO;
    m->status = status;
    snprintf(m->error_text, sizeof m->error_text, "%s", text);
    mailbox_push(p->to_edge, &m->hdr);
}

static void answer_ok(backend_proxy *p, const pending *q, json_t *answer,
                      const backend_attachments *att)
{
    p->stats.answered++;
    sio_bin bins[64];
    for (uint32_t i = 0; i < att->n; i++)
        bins[i] = (sio_bin){att->buf.data + att->offsets[i], att->lens[i]};
    backend_msg *m = q->token ? backend_msg_new(MSG_BACKEND_DONE, q->type, q->token, q->nsp, q->sid)
                              : NULL;
    if (!m || backend_msg_set(m, answer, bins, att->n)) {
        if (!m)
            json_decref(answer);
        cluster_msg_unref(m ? &m->hdr : NULL);
        return;
    }
    mailbox_push(p->to_edge, &m->hdr);
}

/* ---- HTTP ------------------------------------------------------------------------ */

/* The answer checked, or NULL with `why` (a transport error, a non-2xx
 * status, or what backend_answer_decode refused). */
static json_t *checked(const backend_proxy *p, const pending *q, const http_result *r,
                       backend_attachments *att, char *why, size_t len)
{
    json_t *answer = NULL;
    if (r->error)
        snprintf(why, len, "%s", r->error_text);
    else if (r->status < 200 || r->status > 299)
        snprintf(why, len, "the backend answered HTTP %d", r->status);
    else
        backend_answer_decode(q->type, r->body, r->body_len, &p->limits, &answer, att, why, len);
    return answer;
}

static void http_answered(void *ud, const http_result *r)
{
    pending *q = ud;
    backend_proxy *p = q->p;
    char why[200];
    backend_attachments att = {.buf = BYTEBUF_INIT};
    json_t *answer = checked(p, q, r, &att, why, sizeof why);
    if (q->sse_done) {
        p->stats.answered += answer != NULL;
        p->stats.failed += answer == NULL;
        q->sse_done(q->sse_ud, json_object_get(answer, "ack")); /* NULL: failed */
        json_decref(answer);
    } else if (answer) {
        answer_ok(p, q, answer, &att);
    } else {
        answer_error(p, q, r->error ? r->error : -EPROTO, r->status, why);
    }
    bytebuf_free(&att.buf);
    free(q);
}

static const char *url_for(const backend_proxy *p, int type)
{
    return type == BACKEND_CONNECT || type == BACKEND_REFRESH ? p->cfg.connect_url : p->cfg.event_url;
}

static int post(backend_proxy *p, pending *q, const bytebuf *body)
{
    const char *headers[] = {p->node_header, NULL};
    const char *url = url_for(p, q->type);
    if (!url || !p->http)
        return -ENOTCONN;
    return http_client_post(p->http, url, headers, (const char *)body->data, body->len,
                            p->cfg.timeout_ms, http_answered, q);
}

/* ---- the stream ---------------------------------------------------------------------- */

static void xadded(redis_conn *c, redisReply *r, void *ud)
{
    pending *q = ud;
    backend_proxy *p = q->p;
    (void)c;
    if (!r || r->type != REDIS_REPLY_STRING) {
        answer_error(p, q, r ? -EPROTO : -EIO, 0,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : "redis unavailable");
    } else {
        p->stats.streamed++;
        backend_attachments none = {.buf = BYTEBUF_INIT};
        answer_ok(p, q, json_pack("{s[{sbss}]}", "ack", "ok", 1, "id", r->str), &none);
    }
    free(q);
}

static int xadd(backend_proxy *p, pending *q, const backend_msg *m, const bytebuf *body)
{
    char maxlen[16];
    snprintf(maxlen, sizeof maxlen, "%u", p->cfg.stream_maxlen);
    const char *type = backend_type_name(m->type);
    const char *argv[] = {"XADD", p->cfg.stream, "MAXLEN", "~", maxlen, "*", "type", type,
                          "namespace", m->nsp, "sid", m->sid, "node", p->cfg.node_id,
                          "payload", (const char *)body->data};
    size_t lens[16];
    for (int i = 0; i < 15; i++)
        lens[i] = strlen(argv[i]);
    lens[15] = body->len;
    if (!p->redis)
        return -ENOTCONN;
    return redis_adapter_command(p->redis, xadded, q, 16, argv, lens) ? -EAGAIN : 0;
}

/* ---- requests from the edge ---------------------------------------------------------- */

static int streamed(const backend_proxy *p, int type)
{
    return p->cfg.stream && type != BACKEND_CONNECT && type != BACKEND_REFRESH;
}

#define MAX_BINS 64 /* more than the edge lets a packet carry (sio_config.max_attachments) */

void backend_proxy_on_edge(backend_proxy *p, backend_msg *m)
{
    pending *q = pending_new(p, m->type, m->token, m->nsp, m->sid);
    bytebuf body = BYTEBUF_INIT;
    backend_bin bins[MAX_BINS];
    for (size_t i = 0; i < m->n_bins && i < MAX_BINS; i++)
        bins[i] = (backend_bin){m->bins[i].data, m->bins[i].len};
    p->stats.requests++;
    int rc = !q ? -ENOMEM
             : m->n_bins > MAX_BINS ? -E2BIG
                                    : backend_request_encode(m->json, bins, m->n_bins, &body);
    if (!rc)
        rc = streamed(p, m->type) ? xadd(p, q, m, &body) : post(p, q, &body);
    if (rc && q) {
        answer_error(p, q, rc, 0,
                     rc == -ENOBUFS ? "backend busy" : rc == -ENOTCONN ? "no backend" : "cannot send");
        free(q);
    }
    bytebuf_free(&body);
}

int backend_proxy_server_side_emit(backend_proxy *p, const char *nsp, json_t *data,
                                   void (*done)(void *ud, json_t *ack), void *ud)
{
    if (!p || !p->cfg.event_url)
        return -1;
    pending *q = pending_new(p, BACKEND_SERVER_SIDE_EMIT, 0, nsp, "");
    json_t *f = json_pack("{sssssO}", "type", "server_side_emit", "namespace", nsp, "data", data);
    bytebuf body = BYTEBUF_INIT;
    int rc = !q || !f || backend_request_encode(f, NULL, 0, &body);
    if (!rc) {
        q->sse_done = done;
        q->sse_ud = ud;
        rc = post(p, q, &body);
    }
    json_decref(f);
    bytebuf_free(&body);
    if (rc)
        free(q);
    return rc ? -1 : 0;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

backend_proxy *backend_proxy_new(struct event_base *base, const backend_proxy_config *cfg,
                                 mailbox *to_edge, redis_adapter *redis)
{
    if (!cfg->connect_url && !cfg->event_url && !cfg->stream)
        return NULL;
    backend_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    p->to_edge = to_edge;
    p->redis = redis;
    p->limits = (backend_limits){cfg->max_rooms, 256, 256, 16, 10};
    snprintf(p->node_header, sizeof p->node_header, "X-Sio-Node: %s", cfg->node_id);
    http_client_config hc = {cfg->max_inflight, cfg->max_queued, cfg->max_response_bytes,
                             cfg->ca_file};
    if ((cfg->connect_url || cfg->event_url) && !(p->http = http_client_new(base, &hc))) {
        free(p);
        return NULL;
    }
    return p;
}

void backend_proxy_free(backend_proxy *p)
{
    if (!p)
        return;
    http_client_free(p->http); /* the callbacks of what is left run with -ECANCELED */
    free(p);
}

const backend_proxy_stats *backend_proxy_get_stats(const backend_proxy *p)
{
    return &p->stats;
}

const http_client_stats *backend_proxy_http_stats(const backend_proxy *p)
{
    return p->http ? http_client_get_stats(p->http) : NULL;
}
