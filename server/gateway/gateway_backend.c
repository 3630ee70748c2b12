/* gateway_backend: the edge's side of the application backend (README
 * "Backends"). The cluster thread does the talking (HTTP or the Redis stream,
 * adapters/redis/backend_proxy.c); here each request is a MSG_BACKEND with a
 * token, and its answer (MSG_BACKEND_DONE) finds the call that waits for it.
 *
 *  - connect proxy: an asynchronous middleware; the answer admits the socket
 *    with its rooms, patterns, user and data, or refuses it;
 *  - client events matching PROXY_EVENTS: queued per socket (at most
 *    PROXY_SOCKET_QUEUE), at most PROXY_SOCKET_CONCURRENCY at the backend at
 *    once, in order; the answer's `ack` is the client's ack;
 *  - lifecycle: `connected` and `disconnected` (with the reason);
 *  - expiry: `expires_at` (or the JWT's `exp`) disconnects the socket at that
 *    time unless a `refresh` moved it.
 * A call outlives its socket: the answer then finds the socket gone (looked
 * up by namespace and id) and is dropped. Every call also has a deadline
 * (PROXY_TIMEOUT_MS and a second, one deadline_list): the cluster thread
 * answers each request, but an answer it cannot push (the edge's mailbox full)
 * would otherwise leave a socket's event queue stalled for good. Edge thread
 * only. */
#include "wall_clock.h"
#include "gateway_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_wire.h"
#include "cluster_msg.h"
#include "deadline_timer.h"
#include "glob.h"
#include "hashmap.h"
#include "sio_internal.h"

#define DEADLINE_GRACE_MS 1000 /* past the cluster thread's own timeout */

struct gw_backend {
    uv_loop_t *loop;
    sio_server *io;
    const gateway_config *cfg;
    const jwt_verifier *jwt;
    int (*send)(void *ctx, cluster_msg *m);
    void *send_ctx;
    hashmap calls;             /* token -> call */
    uint64_t next_token;
    deadline_list due;         /* every call, in the order sent */
    deadline_timer timer;
};

typedef struct call call;
typedef void (*call_fn)(gw_backend *b, call *c, const backend_msg *answer);

struct call {
    uint64_t token;            /* the key */
    deadline_entry deadline;
    call_fn fn;
    socket_ref socket;
    sio_connect_handle connect; /* connect */
    json_t *claims;            /* connect: the verified JWT's, owned */
    sio_ack_handle ack;        /* event, refresh */
    int has_ack;
};

/* A client event waiting for its turn: its request, ready to go. */
struct queued_event {
    queued_event *next;
    backend_msg *m;            /* owned (one reference) */
    sio_ack_handle ack;
    int has_ack;
};

/* ---- calls ------------------------------------------------------------------ */

static call *call_new(call_fn fn, sio_socket *s)
{
    call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fn = fn;
    socket_ref_set(&c->socket, s);
    return c;
}

static void call_free(call *c)
{
    deadline_disarm(&c->deadline);
    json_decref(c->claims);
    free(c);
}

/* A request for socket `s` (taking `fields`; the attachments are copied),
 * or NULL when out of memory. */
static backend_msg *request_new(backend_type t, sio_socket *s, json_t *fields, const sio_bin *bins,
                                size_t n_bins)
{
    backend_msg *m = fields ? backend_msg_new(MSG_BACKEND, t, 0,
                                              sio_namespace_name(sio_socket_namespace(s)),
                                              sio_socket_id(s))
                            : NULL;
    if (!m)
        json_decref(fields);
    else if (backend_msg_set(m, fields, bins, n_bins)) { /* it released `fields` */
        cluster_msg_unref(&m->hdr);
        m = NULL;
    }
    return m;
}

/* Hands `m` over (taking it); `c` (NULL: no answer wanted) then waits for
 * its answer or deadline. 0, or a negative errno (`c` is not registered). */
static int send_msg(gw_backend *b, backend_msg *m, call *c)
{
    if (c) {
        c->token = m->token = ++b->next_token;
        if (hashmap_put(&b->calls, (const char *)&c->token, sizeof c->token, c)) {
            cluster_msg_unref(&m->hdr);
            return -ENOMEM;
        }
    }
    int rc = b->send ? b->send(b->send_ctx, &m->hdr) : (cluster_msg_unref(&m->hdr), -ENOTCONN);
    if (rc && c)
        hashmap_remove(&b->calls, (const char *)&c->token, sizeof c->token);
    else if (c)
        deadline_timer_arm(&b->timer, &b->due, &c->deadline);
    return rc;
}

static int send_request(gw_backend *b, backend_type t, sio_socket *s, json_t *fields, call *c)
{
    backend_msg *m = request_new(t, s, fields, NULL, 0);
    return m ? send_msg(b, m, c) : -ENOMEM;
}

void gw_backend_on_answer(void *ctx, backend_msg *m)
{
    gw_backend *b = ctx;
    call *c = hashmap_remove(&b->calls, (const char *)&m->token, sizeof m->token);
    if (!c)
        return; /* its deadline passed first */
    c->fn(b, c, m);
    call_free(c);
}

/* No answer in time: the call ends as the cluster thread's timeout would. */
static void on_call_due(deadline_entry *e, void *ctx)
{
    gw_backend *b = ctx;
    call *c = (call *)(void *)((char *)e - offsetof(call, deadline));
    hashmap_remove(&b->calls, (const char *)&c->token, sizeof c->token);
    backend_msg late = {.error = -ETIMEDOUT};
    snprintf(late.error_text, sizeof late.error_text, "no answer within %u ms",
             (unsigned)b->due.delay_ms);
    c->fn(b, c, &late);
    call_free(c);
}

void socket_ref_set(socket_ref *r, sio_socket *s)
{
    snprintf(r->sid, sizeof r->sid, "%s", sio_socket_id(s));
    snprintf(r->nsp, sizeof r->nsp, "%s", sio_namespace_name(sio_socket_namespace(s)));
}

sio_socket *socket_ref_find(sio_server *io, const socket_ref *r)
{
    sio_namespace *nsp = sio_find_namespace(io, r->nsp);
    return nsp ? sio_socket_find(nsp, r->sid) : NULL;
}

/* ---- the request fields ----------------------------------------------------- */

static json_t *base_fields(backend_type t, sio_socket *s, const json_t *user)
{
    json_t *f = json_pack("{ssssss}", "type", backend_type_name(t), "namespace",
                          sio_namespace_name(sio_socket_namespace(s)), "sid", sio_socket_id(s));
    if (f && user) /* a copy: the message's JSON is its only owner's, on another thread */
        json_object_set_new(f, "user", json_deep_copy(user));
    return f;
}

/* The allow-listed headers of the handshake ("name: value\n" lines). */
static json_t *headers_json(const gateway_config *cfg, const char *lines)
{
    json_t *h = json_object();
    for (const char *p = lines; h && p && *p;) {
        const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');
        if (!colon || !nl || colon > nl)
            break;
        char name[64];
        size_t n = (size_t)(colon - p);
        if (n < sizeof name) {
            memcpy(name, p, n);
            name[n] = '\0';
            for (char **a = cfg->proxy_headers; a && *a; a++)
                if (strcmp(*a, name) == 0 && !json_object_get(h, name))
                    json_object_set_new(h, name, json_stringn(colon + 2, (size_t)(nl - colon - 2)));
        }
        p = nl + 1;
    }
    return h;
}

static json_t *connect_fields(gw_backend *b, sio_socket *s, json_t *auth, json_t *claims)
{
    const eio_request_info *rq = sio_socket_request(s);
    json_t *f = base_fields(BACKEND_CONNECT, s, NULL);
    unsigned t = eio_session_transport(s->client->conn);
    const char *transport = t == EIO_TRANSPORT_PLAIN       ? "plain"
                            : t == EIO_TRANSPORT_WEBSOCKET ? "websocket"
                                                           : "polling";
    json_t *more = json_pack("{sososssssb}", "auth", json_deep_copy(auth), "headers",
                             headers_json(b->cfg, rq->headers), "address", rq->remote_addr,
                             "transport", transport, "recovered", sio_socket_recovered(s));
    if (f && more)
        json_object_update(f, more);
    json_decref(more);
    if (f && claims)
        json_object_set_new(f, "claims", json_deep_copy(claims));
    return f;
}

/* ---- the connect proxy -------------------------------------------------------- */

static void refuse(gw_backend *b, sio_connect_handle h, const char *message, const char *reason)
{
    sio_connect_decide(b->io, h, 0, message, reason ? json_pack("{ss}", "reason", reason) : NULL);
}

/* The answer's user, data, rooms, patterns, events and expiry on the socket. */
static int admit_with(gw_backend *b, sio_socket *s, socket_perms *p, json_t *answer)
{
    const char *why = NULL;
    if (answer && perms_take_lists(p, answer, "subscribe", &why))
        return -1;
    json_t *data = json_object_get(answer, "data");
    json_t *user = json_object_get(answer, "user");
    p->user = user && !json_is_null(user) ? json_incref(user) : NULL;
    p->join = json_incref(json_object_get(answer, "rooms"));
    p->emit = json_incref(json_object_get(answer, "emit"));
    json_t *sd = data ? json_deep_copy(data) : json_object();
    if (sd && p->user)
        json_object_set_new(sd, "user", json_deep_copy(p->user));
    sio_socket_set_data(s, sd);
    json_t *exp = json_object_get(answer, "expires_at");
    if (exp)
        p->expires_at = json_integer_value(exp);
    return 0;
}

static void connect_done(gw_backend *b, call *c, const backend_msg *m)
{
    sio_socket *s = sio_connect_socket(b->io, c->connect);
    if (!s)
        return; /* the client went away meanwhile */
    json_t *answer = m->error ? NULL : m->json;
    if (!answer && strcmp(b->cfg->connect_proxy_fail, "open") != 0) {
        refuse(b, c->connect, "auth unavailable", m->error_text);
        return;
    }
    if (answer && !json_is_true(json_object_get(answer, "allow"))) {
        json_t *reason = json_object_get(answer, "reason"), *data = json_object_get(answer, "data");
        sio_connect_decide(b->io, c->connect, 0,
                           json_is_string(reason) ? json_string_value(reason) : "unauthorized",
                           json_incref(data));
        return;
    }
    socket_perms *p = perms_new(b->cfg);
    const char *why = NULL;
    if (!p || (c->claims && perms_take_lists(p, c->claims, "rooms", &why)) ||
        admit_with(b, s, p, answer)) {
        perms_free(p);
        refuse(b, c->connect, p ? "unauthorized" : "server error", why);
        return;
    }
    p->claims = c->claims;
    c->claims = NULL;
    if (!p->expires_at)
        gw_backend_set_expiry(p, p->claims);
    sio_socket_set_user(s, p);
    sio_connect_decide(b->io, c->connect, 1, NULL, NULL);
}

void gw_backend_connect(sio_socket *s, json_t *auth, sio_connect_handle h, void *ud)
{
    gw_backend *b = ud;
    json_t *claims = NULL;
    if (b->jwt) {
        size_t len = 0;
        const char *token = gateway_bearer_token(s, auth, &len), *why = "missing token";
        if (!token || jwt_verify(b->jwt, token, len, (int64_t)time(NULL), &claims, &why)) {
            refuse(b, h, "unauthorized", why);
            return;
        }
    }
    call *c = call_new(connect_done, s);
    json_t *fields = connect_fields(b, s, auth, claims);
    if (!c || !fields) {
        json_decref(fields);
        json_decref(claims);
        free(c);
        refuse(b, h, "server error", NULL);
        return;
    }
    c->connect = h;
    c->claims = claims;
    int rc = send_request(b, BACKEND_CONNECT, s, fields, c);
    if (rc) {
        call_free(c);
        refuse(b, h, "auth unavailable", rc == -ENOBUFS ? "overloaded" : "backend unreachable");
    }
}

/* ---- after CONNECT, and at the end ---------------------------------------------- */

void gw_backend_set_expiry(socket_perms *p, json_t *claims)
{
    json_t *exp = json_object_get(claims, "exp");
    if (json_is_integer(exp) && json_integer_value(exp) > 0)
        p->expires_at = json_integer_value(exp);
}

typedef struct expiry_ctx {
    gw_backend *b;
    socket_ref socket;
} expiry_ctx;

static void on_expired(uv_timer_t *t)
{
    expiry_ctx *x = t->data;
    sio_socket *s = socket_ref_find(x->b->io, &x->socket);
    socket_perms *p = s ? sio_socket_user(s) : NULL;
    if (!p)
        return;
    json_t *args = json_pack("[{ss}]", "reason", "token expired");
    sio_args a = {.json = args};
    sio_emit(s, "expired", &a);
    json_decref(args);
    p->end_reason = "token expired";
    if (sio_socket_plain(s))
        sio_socket_end(s, 1008, "token expired");
    else
        sio_disconnect(s, 0);
}

static void free_timer(uv_handle_t *h)
{
    free(h->data);
    free(h);
}

static void arm_expiry(gw_backend *b, sio_socket *s, socket_perms *p)
{
    if (!p->expires_at)
        return;
    int64_t due = p->expires_at * 1000 - (int64_t)wall_ms(); /* exp is wall-clock time */
    if (!p->expiry) {
        expiry_ctx *x = calloc(1, sizeof(*x));
        p->expiry = x ? malloc(sizeof(uv_timer_t)) : NULL;
        if (!p->expiry) {
            free(x);
            return;
        }
        *x = (expiry_ctx){.b = b};
        socket_ref_set(&x->socket, s);
        uv_timer_init(b->loop, p->expiry);
        p->expiry->data = x;
    }
    uv_timer_start(p->expiry, on_expired, due > 0 ? (uint64_t)due : 0, 0);
}

static void emit_listed(sio_socket *s, json_t *emit)
{
    for (size_t i = 0; i < json_array_size(emit); i++) {
        json_t *e = json_array_get(emit, i), *args = json_object_get(e, "args");
        sio_args a = {.json = args};
        sio_emit(s, json_string_value(json_object_get(e, "event")), &a);
    }
}

static int lifecycle_on(const gw_backend *b)
{
    return b->cfg->proxy_lifecycle && (b->cfg->event_proxy_url || b->cfg->event_stream);
}

void gw_backend_connected(gw_backend *b, sio_socket *s)
{
    socket_perms *p = sio_socket_user(s);
    if (!p)
        return;
    for (size_t i = 0; i < json_array_size(p->join); i++)
        sio_join(s, json_string_value(json_array_get(p->join, i)));
    json_decref(p->join);
    p->join = NULL;
    emit_listed(s, p->emit);
    json_decref(p->emit);
    p->emit = NULL;
    arm_expiry(b, s, p);
    if (lifecycle_on(b))
        send_request(b, BACKEND_CONNECTED, s, base_fields(BACKEND_CONNECTED, s, p->user), NULL);
}

static void queue_drop(socket_perms *p);

void gw_backend_disconnected(gw_backend *b, sio_socket *s, const char *reason)
{
    socket_perms *p = sio_socket_user(s);
    if (!p)
        return;
    if (lifecycle_on(b)) {
        json_t *f = base_fields(BACKEND_DISCONNECTED, s, p->user);
        if (f)
            json_object_set_new(f, "reason", json_string(p->end_reason ? p->end_reason : reason));
        send_request(b, BACKEND_DISCONNECTED, s, f, NULL);
    }
    if (p->expiry) {
        uv_timer_stop(p->expiry);
        uv_close((uv_handle_t *)p->expiry, free_timer);
        p->expiry = NULL;
    }
    queue_drop(p);
}

/* ---- client events ---------------------------------------------------------------- */

static void ack_json(gw_backend *b, const sio_ack_handle *ack, json_t *args, const sio_bin *bins,
                     size_t n_bins)
{
    sio_args a = {.json = args, .bins = bins, .n_bins = n_bins};
    if (ack)
        sio_ack(b->io, ack, &a);
    json_decref(args);
}

static void ack_error(gw_backend *b, const sio_ack_handle *ack, const char *error)
{
    ack_json(b, ack, json_pack("[{ss}]", "error", error), NULL, 0);
}

static void queued_free(queued_event *q)
{
    cluster_msg_unref(q->m ? &q->m->hdr : NULL);
    free(q);
}

static void queue_drop(socket_perms *p)
{
    while (p->queue_head) {
        queued_event *q = p->queue_head;
        p->queue_head = q->next;
        queued_free(q);
    }
    p->queue_tail = NULL;
    p->queued = 0;
}

static void pump(gw_backend *b, sio_socket *s, socket_perms *p);

static void event_done(gw_backend *b, call *c, const backend_msg *m)
{
    if (m->error) {
        char text[160];
        snprintf(text, sizeof text, "backend: %s", m->error_text);
        if (c->has_ack)
            ack_error(b, &c->ack, text);
    } else if (c->has_ack) {
        ack_json(b, &c->ack, json_incref(json_object_get(m->json, "ack")), m->bins, m->n_bins);
    }
    sio_socket *s = socket_ref_find(b->io, &c->socket);
    socket_perms *p = s ? sio_socket_user(s) : NULL;
    if (p) {
        p->inflight--;
        pump(b, s, p);
    }
}

static void send_queued(gw_backend *b, sio_socket *s, socket_perms *p, queued_event *q)
{
    call *c = call_new(event_done, s);
    int rc = c ? 0 : -ENOMEM;
    if (c) {
        c->ack = q->ack;
        c->has_ack = q->has_ack;
        rc = send_msg(b, q->m, c);
        q->m = NULL; /* handed over */
    }
    if (rc) {
        if (q->has_ack)
            ack_error(b, &q->ack, rc == -ENOBUFS ? "backend busy" : "backend unreachable");
        free(c);
    } else {
        p->inflight++;
    }
    queued_free(q);
}

static void pump(gw_backend *b, sio_socket *s, socket_perms *p)
{
    while (p->queue_head && p->inflight < b->cfg->proxy_socket_concurrency) {
        queued_event *q = p->queue_head;
        p->queue_head = q->next;
        if (!p->queue_head)
            p->queue_tail = NULL;
        p->queued--;
        send_queued(b, s, p, q);
    }
}

static queued_event *queued_new(sio_socket *s, const socket_perms *p, const char *event,
                                const sio_args *args, const sio_ack_handle *ack)
{
    queued_event *q = calloc(1, sizeof(*q));
    json_t *f = q ? base_fields(BACKEND_EVENT, s, p->user) : NULL;
    if (f) {
        json_object_set_new(f, "event", json_string(event));
        json_object_set_new(f, "args", args->json ? json_deep_copy(args->json) : json_array());
    }
    if (!q || !(q->m = request_new(BACKEND_EVENT, s, f, args->bins, args->n_bins))) {
        free(q);
        return NULL;
    }
    if ((q->has_ack = ack != NULL))
        q->ack = *ack;
    return q;
}

/* A plain client (audio, say) that sends faster than the backend takes: it
 * has no ack to be told with, so it is told with an event, then cut. */
static void cut_flooder(sio_socket *s)
{
    json_t *args = json_pack("[{ss}]", "message", "upstream queue full");
    sio_args a = {.json = args};
    sio_emit(s, "error", &a);
    json_decref(args);
    sio_socket_end(s, 1008, "upstream queue full");
}

int gw_backend_event(gw_backend *b, sio_socket *s, const char *event, const sio_args *args,
                     const sio_ack_handle *ack)
{
    socket_perms *p = sio_socket_user(s);
    if (!p || !(b->cfg->event_proxy_url || b->cfg->event_stream) ||
        !glob_match_any((const char *const *)b->cfg->proxy_events, event, strlen(event)))
        return 0;
    if (p->queued >= b->cfg->proxy_socket_queue) {
        if (sio_socket_plain(s))
            cut_flooder(s);
        else
            ack_error(b, ack, "backend busy");
        return 1;
    }
    queued_event *q = queued_new(s, p, event, args, ack);
    if (!q) {
        ack_error(b, ack, "server error");
        return 1;
    }
    if (p->queue_tail)
        p->queue_tail->next = q;
    else
        p->queue_head = q;
    p->queue_tail = q;
    p->queued++;
    pump(b, s, p);
    return 1;
}

/* ---- refresh ---------------------------------------------------------------------- */

static void refreshed(gw_backend *b, sio_socket *s, socket_perms *p, int64_t expires_at,
                      const sio_ack_handle *ack)
{
    p->expires_at = expires_at;
    if (expires_at)
        arm_expiry(b, s, p);
    else if (p->expiry)
        uv_timer_stop(p->expiry);
    if (ack)
        ack_json(b, ack, json_pack("[{sbsI}]", "ok", 1, "expires_at", (json_int_t)expires_at),
                 NULL, 0);
}

static void refresh_denied(gw_backend *b, const sio_ack_handle *ack, const char *why)
{
    if (ack)
        ack_json(b, ack, json_pack("[{sbss}]", "ok", 0, "error", why), NULL, 0);
}

static void refresh_done(gw_backend *b, call *c, const backend_msg *m)
{
    sio_socket *s = socket_ref_find(b->io, &c->socket);
    socket_perms *p = s ? sio_socket_user(s) : NULL;
    const sio_ack_handle *ack = c->has_ack ? &c->ack : NULL;
    json_t *a = m->error ? NULL : m->json, *reason = json_object_get(a, "reason");
    if (!p)
        return;
    if (!a)
        refresh_denied(b, ack, "auth unavailable");
    else if (!json_is_true(json_object_get(a, "allow")))
        refresh_denied(b, ack, json_is_string(reason) ? json_string_value(reason) : "unauthorized");
    else
        refreshed(b, s, p, json_integer_value(json_object_get(a, "expires_at")), ack);
}

static void refresh_by_proxy(gw_backend *b, sio_socket *s, socket_perms *p, json_t *auth,
                             const sio_ack_handle *ack)
{
    call *c = call_new(refresh_done, s);
    json_t *f = c ? base_fields(BACKEND_REFRESH, s, p->user) : NULL;
    if (f)
        json_object_set_new(f, "auth", json_deep_copy(auth));
    if (c && ack) {
        c->ack = *ack;
        c->has_ack = 1;
    }
    if (!f || send_request(b, BACKEND_REFRESH, s, f, c)) {
        free(c);
        refresh_denied(b, ack, "auth unavailable");
    }
}

void gw_backend_refresh(gw_backend *b, sio_socket *s, const sio_args *args,
                        const sio_ack_handle *ack)
{
    socket_perms *p = sio_socket_user(s);
    json_t *auth = json_array_get(args->json, 0), *claims = NULL;
    json_t *token = json_object_get(auth, "token");
    const char *why = "missing token";
    if (!p || !json_is_object(auth)) {
        refresh_denied(b, ack, "refresh takes {token}");
        return;
    }
    if (b->cfg->connect_proxy_url) {
        refresh_by_proxy(b, s, p, auth, ack);
        return;
    }
    if (!b->jwt || !json_is_string(token) ||
        jwt_verify(b->jwt, json_string_value(token), json_string_length(token),
                   (int64_t)time(NULL), &claims, &why)) {
        refresh_denied(b, ack, b->jwt ? why : "nothing to refresh");
        return;
    }
    json_t *exp = json_object_get(claims, "exp");
    refreshed(b, s, p, json_is_integer(exp) ? json_integer_value(exp) : 0, ack);
    json_decref(claims);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

gw_backend *gw_backend_new(uv_loop_t *loop, sio_server *io, const gateway_config *cfg,
                           const jwt_verifier *jwt)
{
    gw_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    *b = (gw_backend){.loop = loop, .io = io, .cfg = cfg, .jwt = jwt};
    hashmap_init(&b->calls);
    deadline_list_init(&b->due, (uint64_t)cfg->proxy_timeout_ms + DEADLINE_GRACE_MS, on_call_due, b);
    deadline_timer_init(&b->timer, loop);
    deadline_timer_add_list(&b->timer, &b->due);
    return b;
}

void gw_backend_set_sender(gw_backend *b, int (*send)(void *ctx, cluster_msg *m), void *ctx)
{
    b->send = send;
    b->send_ctx = ctx;
}

static void free_backend(uv_handle_t *h)
{
    free(h->data);
}

void gw_backend_free(gw_backend *b)
{
    if (!b)
        return;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&b->calls, &it, &k, &klen, &v))
        call_free(v);
    hashmap_free(&b->calls);
    b->timer.timer.data = b;
    deadline_timer_close(&b->timer, free_backend);
}
