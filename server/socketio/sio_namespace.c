/* sio_namespace: namespaces (exact, and patterns whose matches become dynamic
 * children), their handlers and middlewares, and the fan-out of an encoded
 * packet to their sockets: O(recipients + except members), one encoding. */
#include "sio_internal.h"

#include <stdlib.h>
#include <string.h>

#include "glob.h"

static int is_pattern(const char *name)
{
    return strpbrk(name, "*?") != NULL;
}

static void on_room(void *ctx, const room *r, int created)
{
    sio_namespace *nsp = ctx;
    if (nsp->srv->adapter.room_changed)
        nsp->srv->adapter.room_changed(nsp->srv->adapter.ctx, nsp, r->name, created);
}

/* Registers an exact namespace (or an admitted child) and tells the adapter. */
static int register_namespace(sio_server *io, sio_namespace *nsp)
{
    if (hashmap_put(&io->namespaces, nsp->name, strlen(nsp->name), nsp))
        return -1;
    if (hashmap_put(&io->by_id, (const char *)&nsp->id, sizeof(nsp->id), nsp)) {
        hashmap_remove(&io->namespaces, nsp->name, strlen(nsp->name));
        return -1;
    }
    nsp->registered = 1;
    if (io->adapter.namespace_created)
        io->adapter.namespace_created(io->adapter.ctx, nsp);
    return 0;
}

sio_namespace *sio_namespace_by_id(sio_server *io, uint64_t id)
{
    return hashmap_get(&io->by_id, (const char *)&id, sizeof(id));
}

static sio_namespace *namespace_new(sio_server *io, const char *name, sio_namespace *parent)
{
    sio_namespace *nsp = calloc(1, sizeof(*nsp));
    if (!nsp || !(nsp->name = strdup(name))) {
        free(nsp);
        return NULL;
    }
    nsp->srv = io;
    nsp->id = ++io->next_nsp_id;
    nsp->parent = parent;
    nsp->handlers = parent ? &parent->own : &nsp->own;
    hashmap_init(&nsp->sockets);
    room_index_init(&nsp->rooms);
    nsp->rooms.on_room = on_room;
    nsp->rooms.ctx = nsp;
    return nsp;
}

void sio_namespace_free(sio_namespace *nsp)
{
    for (sio_event_handler *h = nsp->own.events, *n; h; h = n) {
        n = h->next;
        free(h);
    }
    for (sio_middleware *m = nsp->own.middlewares, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    room_index_free(&nsp->rooms);
    hashmap_free(&nsp->sockets);
    free(nsp->name);
    free(nsp);
}

sio_namespace *sio_of(sio_server *io, const char *name)
{
    if (is_pattern(name)) {
        for (sio_namespace *p = io->patterns; p; p = p->next_pattern)
            if (strcmp(p->name, name) == 0)
                return p;
        sio_namespace *p = namespace_new(io, name, NULL);
        if (!p)
            return NULL;
        p->is_pattern = 1;
        sio_namespace **tail = &io->patterns; /* first registered pattern wins */
        while (*tail)
            tail = &(*tail)->next_pattern;
        *tail = p;
        return p;
    }
    sio_namespace *nsp = sio_find_namespace(io, name);
    if (nsp)
        return nsp;
    if (!(nsp = namespace_new(io, name, NULL)))
        return NULL;
    if (register_namespace(io, nsp)) {
        sio_namespace_free(nsp);
        return NULL;
    }
    return nsp;
}

sio_namespace *sio_find_namespace(sio_server *io, const char *name)
{
    return hashmap_get(&io->namespaces, name, strlen(name));
}

sio_namespace *sio_namespace_resolve(sio_server *io, const char *name)
{
    size_t len = strlen(name);
    sio_namespace *nsp = sio_find_namespace(io, name);
    if (nsp || (nsp = hashmap_get(&io->pending, name, len)))
        return nsp;
    for (sio_namespace *p = io->patterns; p; p = p->next_pattern) {
        if (!glob_match(p->name, name, len))
            continue;
        /* pending: neither a namespace of the server nor known to the adapter
         * until a socket passes the middlewares */
        if (!(nsp = namespace_new(io, name, p)))
            return NULL;
        if (hashmap_put(&io->pending, nsp->name, len, nsp)) {
            sio_namespace_free(nsp);
            return NULL;
        }
        return nsp;
    }
    return NULL;
}

int sio_namespace_admit(sio_namespace *nsp)
{
    sio_server *io = nsp->srv;
    if (nsp->registered)
        return 0;
    hashmap_remove(&io->pending, nsp->name, strlen(nsp->name));
    if (register_namespace(io, nsp)) {
        hashmap_put(&io->pending, nsp->name, strlen(nsp->name), nsp);
        return -1;
    }
    return 0;
}

static int unused_child(const sio_namespace *nsp)
{
    return nsp->parent && !nsp->connecting && nsp->sockets.count == 0;
}

void sio_namespace_release(sio_namespace *nsp)
{
    sio_server *io = nsp->srv;
    if (!unused_child(nsp) || nsp->reap_queued)
        return;
    if (io->n_reap == io->cap_reap) {
        size_t cap = io->cap_reap ? io->cap_reap * 2 : 16;
        sio_namespace **r = realloc(io->reap, cap * sizeof(*r));
        if (!r)
            return; /* kept: freed with the server */
        io->reap = r;
        io->cap_reap = cap;
    }
    io->reap[io->n_reap++] = nsp;
    nsp->reap_queued = 1;
    uv_timer_start(&io->reaper, sio_namespace_reap, 0, 0);
}

static void unregister(sio_namespace *nsp)
{
    sio_server *io = nsp->srv;
    if (!nsp->registered) {
        hashmap_remove(&io->pending, nsp->name, strlen(nsp->name));
        return;
    }
    if (io->adapter.namespace_deleted)
        io->adapter.namespace_deleted(io->adapter.ctx, nsp);
    hashmap_remove(&io->namespaces, nsp->name, strlen(nsp->name));
    hashmap_remove(&io->by_id, (const char *)&nsp->id, sizeof(nsp->id));
}

/* The safe point: empty children that are still unused are freed. */
void sio_namespace_reap(uv_timer_t *t)
{
    sio_server *io = t->data;
    for (size_t i = 0; i < io->n_reap; i++) {
        sio_namespace *nsp = io->reap[i];
        nsp->reap_queued = 0;
        if (!unused_child(nsp))
            continue; /* a socket came back meanwhile */
        unregister(nsp);
        sio_namespace_free(nsp);
    }
    io->n_reap = 0;
}

const char *sio_namespace_name(const sio_namespace *nsp) { return nsp->name; }

size_t sio_namespace_socket_count(const sio_namespace *nsp)
{
    if (!nsp->is_pattern)
        return nsp->sockets.count;
    size_t n = 0, it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&nsp->srv->namespaces, &it, &k, &klen, &v))
        if (((sio_namespace *)v)->parent == nsp)
            n += ((sio_namespace *)v)->sockets.count;
    return n;
}

void sio_on_connection(sio_namespace *nsp, sio_connection_fn fn, void *ud)
{
    nsp->own.on_connection = fn;
    nsp->own.connection_ud = ud;
}

void sio_on_disconnect(sio_namespace *nsp, sio_disconnect_fn fn, void *ud)
{
    nsp->own.on_disconnect = fn;
    nsp->own.disconnect_ud = ud;
}

void sio_on_any(sio_namespace *nsp, sio_event_fn fn, void *ud)
{
    nsp->own.on_any = fn;
    nsp->own.any_ud = ud;
}

int sio_on(sio_namespace *nsp, const char *event, sio_event_fn fn, void *ud)
{
    size_t len = strlen(event);
    sio_event_handler *h = malloc(sizeof(*h) + len + 1);
    if (!h)
        return -1;
    h->fn = fn;
    h->ud = ud;
    memcpy(h->name, event, len + 1);
    h->next = nsp->own.events;
    nsp->own.events = h;
    return 0;
}

static int add_middleware(sio_namespace *nsp, sio_middleware_fn fn, sio_async_middleware_fn afn,
                          void *ud)
{
    sio_middleware *m = malloc(sizeof(*m));
    if (!m)
        return -1;
    m->fn = fn;
    m->async_fn = afn;
    m->ud = ud;
    m->next = NULL;
    sio_middleware **tail = &nsp->own.middlewares;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    return 0;
}

int sio_use(sio_namespace *nsp, sio_middleware_fn fn, void *ud)
{
    return add_middleware(nsp, fn, NULL, ud);
}

int sio_use_async(sio_namespace *nsp, sio_async_middleware_fn fn, void *ud)
{
    return add_middleware(nsp, NULL, fn, ud);
}

const sio_event_handler *sio_namespace_handler(const sio_namespace *nsp, const char *event)
{
    for (const sio_event_handler *h = nsp->handlers->events; h; h = h->next)
        if (strcmp(h->name, event) == 0)
            return h;
    return NULL;
}

static void mark_room(sio_namespace *nsp, const char *name, uint64_t epoch)
{
    room *r = room_find(&nsp->rooms, name, strlen(name));
    for (size_t i = 0; r && i < r->count; i++)
        ((sio_socket *)r->members[i].member)->except_mark = epoch;
}

/* Queues the packet's frames on a session, by reference. With `is_volatile`,
 * only when the transport can take it now. 0 sent, 1 dropped (volatile), -1
 * session gone or slow. */
int sio_frames_send(frame *const *frames, uint32_t n, eio_session *s, int is_volatile)
{
    uint32_t i = 0;
    if (is_volatile && n) {
        if (eio_session_send_volatile(s, frames[0]))
            return 1;
        i = 1;
    }
    for (; i < n; i++)
        if (eio_session_send(s, frames[i]))
            return -1;
    return 0;
}

int sio_outpacket_send_to(sio_outpacket *p, eio_session *s, int msgpack, int is_volatile)
{
    if (msgpack)
        return sio_msgpack_send(p, s, is_volatile);
    if (eio_session_transport(s) == EIO_TRANSPORT_PLAIN)
        return sio_plain_send(p, s, is_volatile);
    return sio_frames_send(p->frames, p->n_frames, s, is_volatile);
}

int sio_outpacket_send(sio_outpacket *p, eio_session *s, int is_volatile)
{
    const sio_client *c = eio_session_user(s);
    return sio_outpacket_send_to(p, s, c && c->msgpack, is_volatile);
}

/* How far ahead a room's walk prefetches: the member socket PREFETCH_AHEAD
 * slots ahead, its session half as far (the socket is in cache by then), the
 * session's queue slot a quarter as far. A
 * fan-out's time is otherwise mostly cache misses on these two, one recipient
 * after the other, each behind the previous one's write. */
#define PREFETCH_AHEAD 8

static const sio_socket *member_at(const room *r, size_t i)
{
    return i < r->count ? r->members[i].member : NULL;
}

static void prefetch_member(const room *r, size_t i)
{
    const sio_socket *s;
    if ((s = member_at(r, i + PREFETCH_AHEAD)))
        __builtin_prefetch(s, 1);
    if ((s = member_at(r, i + PREFETCH_AHEAD / 2)))
        eio_session_prefetch(s->session);
    if ((s = member_at(r, i + PREFETCH_AHEAD / 4)))
        eio_session_prefetch_queue(s->session);
}

static int visit_room(const room *r, uint64_t epoch, int (*visit)(void *ctx, sio_socket *s), void *ctx)
{
    int sum = 0;
    for (size_t i = 0; r && i < r->count; i++) {
        prefetch_member(r, i);
        sio_socket *s = r->members[i].member;
        if (s->mark == epoch || s->except_mark == epoch)
            continue;
        s->mark = epoch;
        sum += visit(ctx, s);
    }
    return sum;
}

int sio_namespace_select(sio_namespace *nsp, const sio_broadcast_opts *opts,
                         int (*visit)(void *ctx, sio_socket *s), void *ctx)
{
    static const sio_broadcast_opts none = {0};
    if (!opts)
        opts = &none;
    uint64_t epoch = ++nsp->epoch;
    int sum = 0;
    for (size_t i = 0; i < opts->n_except; i++)
        mark_room(nsp, opts->except[i], epoch);
    if (!opts->n_rooms) {
        for (sio_socket *s = nsp->first; s; s = s->nsp_next)
            if (s->except_mark != epoch)
                sum += visit(ctx, s);
        return sum;
    }
    for (size_t i = 0; i < opts->n_rooms; i++)
        sum += visit_room(room_find(&nsp->rooms, opts->rooms[i], strlen(opts->rooms[i])),
                          epoch, visit, ctx);
    return sum;
}

typedef struct delivery {
    sio_outpacket *packet;
    int is_volatile;
    const char *offset; /* NULL: none */
} delivery;

/* A restored socket skips the live copies of what its replay already sent. */
static int covered(sio_socket *s, const char *offset)
{
    if (!offset || !s->covered[0])
        return 0;
    if (offset_cmp(offset, s->covered) <= 0)
        return 1;
    s->covered[0] = '\0'; /* past the replay: nothing more to compare */
    return 0;
}

static int deliver_to(void *ctx, sio_socket *s)
{
    const delivery *d = ctx;
    if (covered(s, d->offset))
        return 0;
    return sio_outpacket_send_to(d->packet, s->session, s->msgpack, d->is_volatile) == 0;
}

int sio_namespace_deliver(sio_namespace *nsp, const sio_broadcast_opts *opts, sio_outpacket *p)
{
    return sio_namespace_deliver_offset(nsp, opts, p, NULL);
}

int sio_namespace_deliver_offset(sio_namespace *nsp, const sio_broadcast_opts *opts,
                                 sio_outpacket *p, const char *offset)
{
    delivery d = {p, opts ? opts->is_volatile : 0, offset && offset[0] ? offset : NULL};
    return sio_namespace_select(nsp, opts, deliver_to, &d);
}

/* The packet to deliver here: recorded with its offset by the in-memory
 * store when recoverable, else encoded as it is. *local is 0 when a cluster
 * store delivers it here later, with the offset the cluster gives it. */
static sio_outpacket *outgoing(sio_namespace *nsp, const sio_broadcast_opts *opts,
                               const json_t *data, const sio_bin *bins, size_t n_bins, int *local)
{
    sio_recovery_store *st = &nsp->srv->store;
    *local = 1;
    if (st->restore && !(opts && opts->is_volatile)) {
        if (st->record)
            return st->record(st->ctx, nsp, opts, data, bins, n_bins);
        *local = 0;
    }
    return sio_outpacket_encode(nsp->name, SIO_EVENT, -1, data, bins, n_bins);
}

int sio_namespace_emit_local(sio_namespace *nsp, const sio_broadcast_opts *opts, const json_t *data)
{
    int local;
    sio_outpacket *p = outgoing(nsp, opts, data, NULL, 0, &local);
    if (!p)
        return -1;
    int n = local ? sio_namespace_deliver(nsp, opts, p) : 0;
    sio_outpacket_unref(p);
    return n;
}

static int broadcast_one(sio_namespace *nsp, const sio_broadcast_opts *opts, const json_t *data,
                         const sio_args *args)
{
    int local;
    sio_outpacket *p = outgoing(nsp, opts, data, args ? args->bins : NULL,
                                args ? args->n_bins : 0, &local);
    if (!p)
        return -1;
    int n = local ? sio_namespace_deliver(nsp, opts, p) : 0;
    sio_adapter *a = &nsp->srv->adapter;
    if (a->broadcast_data)
        a->broadcast_data(a->ctx, nsp, opts, data, p);
    else if (a->broadcast)
        a->broadcast(a->ctx, nsp, opts, p);
    sio_outpacket_unref(p);
    return n;
}

void sio_server_set_adapter(sio_server *io, const sio_adapter *adapter)
{
    static const sio_adapter none = {0};
    io->adapter = adapter ? *adapter : none;
    if (!adapter)
        return;
    size_t it = 0;
    sio_namespace *nsp;
    while ((nsp = sio_namespace_next(io, &it))) {
        if (adapter->namespace_created)
            adapter->namespace_created(adapter->ctx, nsp);
        size_t rit = 0, klen;
        const char *k;
        void *v;
        while (adapter->room_changed && hashmap_next(&nsp->rooms.rooms, &rit, &k, &klen, &v))
            adapter->room_changed(adapter->ctx, nsp, k, 1);
    }
}

sio_namespace *sio_namespace_next(sio_server *io, size_t *iter)
{
    const char *k;
    size_t klen;
    void *v;
    return hashmap_next(&io->namespaces, iter, &k, &klen, &v) ? v : NULL;
}

json_t *sio_event_data(const char *event, const sio_args *args)
{
    json_t *data = json_array();
    if (!data || json_array_append_new(data, json_string(event))) {
        json_decref(data);
        return NULL;
    }
    if (args && args->json && json_array_extend(data, args->json)) {
        json_decref(data);
        return NULL;
    }
    return data;
}

int sio_broadcast(sio_namespace *nsp, const sio_broadcast_opts *opts, const char *event,
                  const sio_args *args)
{
    json_t *data = sio_event_data(event, args);
    if (!data)
        return -1;
    int total = 0;
    if (!nsp->is_pattern) {
        total = broadcast_one(nsp, opts, data, args);
    } else { /* a pattern reaches every child namespace (each encoded with its name) */
        size_t it = 0, klen;
        const char *k;
        void *v;
        while (total >= 0 && hashmap_next(&nsp->srv->namespaces, &it, &k, &klen, &v))
            if (((sio_namespace *)v)->parent == nsp) {
                int n = broadcast_one(v, opts, data, args);
                total = n < 0 ? n : total + n;
            }
    }
    json_decref(data);
    return total;
}
