/* recovery_memory: the in-memory recovery store, as socket.io-adapter's
 * SessionAwareAdapter: a history of recoverable broadcasts (a ring, bounded in
 * packets and bytes, none older than the window) and the sessions of sockets
 * that left for a recoverable reason (until the window ends). Offsets are
 * "<boot ms>-<seq>": one never issued by this process does not parse as one
 * in the ring, and a restore from it fails cleanly. */
#include "wall_clock.h"
#include "sio_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    uint64_t seq;
    uint64_t at_ms;
    size_t bytes;
    sio_outpacket *packet;      /* encoded with its offset */
    char *nsp;
    char **rooms, **except;     /* one allocation with the strings */
    size_t n_rooms, n_except;
} entry;

typedef struct saved {
    struct saved *prev, *next;  /* by expiry */
    uint64_t expires_ms;
    char sid[SIO_ID_LEN + 1];
    char pid[SIO_ID_LEN + 1];
    char *nsp;
    char **rooms;
    size_t n_rooms;
    json_t *data;
} saved;

typedef struct memory_store {
    uv_loop_t *loop;
    uint64_t window_ms, boot_ms;
    entry *ring;
    size_t cap, head, count, bytes, max_bytes;
    uint64_t next_seq;
    hashmap sessions;           /* pid -> saved */
    saved *oldest, *newest;
} memory_store;

static size_t packet_bytes(const sio_outpacket *p)
{
    size_t n = 0;
    for (uint32_t i = 0; i < p->n_frames; i++)
        n += sizeof(frame) + FRAME_HEADROOM + p->frames[i]->len;
    return n;
}

/* n strings and their pointers, in one allocation. */
static char **copy_names(const char *const *names, size_t n, size_t *bytes)
{
    size_t size = n * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        size += strlen(names[i]) + 1;
    char **out = malloc(size ? size : 1);
    char *p = (char *)(out + n);
    for (size_t i = 0; out && i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        out[i] = memcpy(p, names[i], len);
        p += len;
    }
    *bytes += size;
    return out;
}

static void entry_clear(entry *e)
{
    sio_outpacket_unref(e->packet);
    free(e->nsp);
    free(e->rooms);
    free(e->except);
}

static void drop_oldest(memory_store *m)
{
    entry *e = &m->ring[m->head];
    m->bytes -= e->bytes;
    entry_clear(e);
    m->head = (m->head + 1) % m->cap;
    m->count--;
}

static void prune_history(memory_store *m, uint64_t now)
{
    while (m->count && (m->ring[m->head].at_ms + m->window_ms < now || m->bytes > m->max_bytes))
        drop_oldest(m);
}

static sio_outpacket *record(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                             const json_t *data, const sio_bin *bins, size_t n_bins)
{
    memory_store *m = ctx;
    char offset[SIO_OFFSET_MAX];
    snprintf(offset, sizeof offset, "%llu-%llu", (unsigned long long)m->boot_ms,
             (unsigned long long)m->next_seq);
    json_t *with = sio_data_with_offset(data, offset);
    sio_outpacket *p = with ? sio_outpacket_encode(nsp->name, SIO_EVENT, -1, with, bins, n_bins) : NULL;
    json_decref(with);
    if (!p)
        return NULL;
    p->offset_last = 1; /* not shown to plain clients */
    uint64_t now = uv_now(m->loop);
    if (m->count == m->cap)
        drop_oldest(m);
    entry *e = &m->ring[(m->head + m->count) % m->cap];
    memset(e, 0, sizeof(*e));
    e->seq = m->next_seq++;
    e->at_ms = now;
    e->packet = sio_outpacket_ref(p);
    e->nsp = strdup(nsp->name);
    e->bytes = sizeof(*e) + packet_bytes(p) + strlen(nsp->name) + 1;
    e->n_rooms = opts ? opts->n_rooms : 0;
    e->n_except = opts ? opts->n_except : 0;
    e->rooms = copy_names(opts ? opts->rooms : NULL, e->n_rooms, &e->bytes);
    e->except = copy_names(opts ? opts->except : NULL, e->n_except, &e->bytes);
    m->count++;
    m->bytes += e->bytes;
    if (!e->nsp || !e->rooms || !e->except) { /* kept out of the history: not recoverable */
        m->count--;
        m->bytes -= e->bytes;
        entry_clear(e);
    }
    prune_history(m, now);
    return p;
}

/* ---- sessions ---------------------------------------------------------------- */

static void saved_free(saved *s)
{
    free(s->nsp);
    free(s->rooms);
    json_decref(s->data);
    free(s);
}

static void unlink_saved(memory_store *m, saved *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        m->oldest = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        m->newest = s->prev;
    hashmap_remove(&m->sessions, s->pid, SIO_ID_LEN);
}

static void prune_sessions(memory_store *m, uint64_t now)
{
    while (m->oldest && m->oldest->expires_ms < now) {
        saved *s = m->oldest;
        unlink_saved(m, s);
        saved_free(s);
    }
}

static void persist(memory_store *m, sio_socket *sock)
{
    uint64_t now = uv_now(m->loop);
    prune_sessions(m, now);
    if (m->oldest && m->sessions.count >= m->cap) { /* bounded: the oldest goes first */
        saved *old = m->oldest;
        unlink_saved(m, old);
        saved_free(old);
    }
    saved *s = calloc(1, sizeof(*s));
    size_t i = 0, bytes = 0;
    const char **names = sio_socket_room_names(sock, &i); /* its own room at least */
    if (s)
        memcpy(s->pid, sock->pid, SIO_ID_LEN + 1); /* the map's key */
    if (s && names && (s->nsp = strdup(sock->nsp->name)) &&
        (s->rooms = copy_names(names, i, &bytes)) &&
        hashmap_put(&m->sessions, s->pid, SIO_ID_LEN, s) == 0) {
        s->n_rooms = i;
        memcpy(s->sid, sock->id, SIO_ID_LEN + 1);
        s->data = json_deep_copy(sock->data);
        s->expires_ms = now + m->window_ms;
        s->prev = m->newest;
        if (m->newest)
            m->newest->next = s;
        else
            m->oldest = s;
        m->newest = s;
        s = NULL;
    }
    if (s)
        saved_free(s);
    free(names);
}

static void on_session(void *ctx, sio_socket *s, sio_session_event ev)
{
    if (ev == SIO_SESSION_PERSIST)
        persist(ctx, s);
}

/* The ring position of the entry with `seq`, or -1 when it is not there. */
static long find_seq(const memory_store *m, uint64_t seq)
{
    if (!m->count)
        return -1;
    uint64_t first = m->ring[m->head].seq;
    uint64_t last = m->ring[(m->head + m->count - 1) % m->cap].seq;
    if (seq < first || seq > last)
        return -1;
    /* seqs are consecutive except where an entry could not be kept */
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t v = m->ring[(m->head + mid) % m->cap].seq;
        if (v == seq)
            return (long)mid;
        if (v < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void restore(void *ctx, sio_restore_req *req)
{
    memory_store *m = ctx;
    uint64_t now = uv_now(m->loop), boot, seq;
    prune_sessions(m, now);
    prune_history(m, now);
    saved *s = hashmap_get(&m->sessions, sio_restore_pid(req), SIO_ID_LEN);
    long at = -1;
    if (s && strcmp(s->nsp, sio_restore_nsp(req)) == 0 &&
        offset_parse(sio_restore_offset(req), &boot, &seq) == 0 && boot == m->boot_ms)
        at = find_seq(m, seq);
    if (at < 0) {
        sio_restore_finish(req, NULL);
        return;
    }
    unlink_saved(m, s); /* a session is restored once */
    sio_outpacket **missed = malloc((m->count - (size_t)at) * sizeof(*missed));
    size_t n = 0;
    for (size_t i = (size_t)at + 1; missed && i < m->count; i++) {
        entry *e = &m->ring[(m->head + i) % m->cap];
        if (strcmp(e->nsp, s->nsp) == 0 &&
            session_included((const char *const *)s->rooms, s->n_rooms,
                                 (const char *const *)e->rooms, e->n_rooms,
                                 (const char *const *)e->except, e->n_except))
            missed[n++] = sio_outpacket_ref(e->packet); /* the ring may change meanwhile */
    }
    sio_restored res = {s->sid, (const char *const *)s->rooms, s->n_rooms, s->data, missed, n, ""};
    sio_restore_finish(req, missed ? &res : NULL);
    while (n)
        sio_outpacket_unref(missed[--n]);
    free(missed);
    saved_free(s);
}

static void destroy(void *ctx)
{
    memory_store *m = ctx;
    while (m->count)
        drop_oldest(m);
    while (m->oldest) {
        saved *s = m->oldest;
        unlink_saved(m, s);
        saved_free(s);
    }
    hashmap_free(&m->sessions);
    free(m->ring);
    free(m);
}

int sio_recovery_memory(uv_loop_t *loop, const sio_config *cfg, sio_recovery_store *out)
{
    memory_store *m = calloc(1, sizeof(*m));
    size_t cap = cfg->recovery_max_packets ? cfg->recovery_max_packets : 1;
    if (!m || !(m->ring = calloc(cap, sizeof(entry)))) {
        free(m);
        return -1;
    }
    m->loop = loop;
    m->cap = cap;
    m->window_ms = cfg->recovery_window_ms;
    m->max_bytes = cfg->recovery_max_bytes;
    m->boot_ms = (uint64_t)wall_ms();
    hashmap_init(&m->sessions);
    *out = (sio_recovery_store){.ctx = m, .record = record, .session = on_session,
                                .restore = restore, .destroy = destroy};
    return 0;
}
