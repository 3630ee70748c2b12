/* sio_recovery: the edge's half of connection state recovery: pending
 * restores, the offset helpers every store shares, and the once-per-turn
 * reports of live sessions. The stores are elsewhere (recovery_memory.c, the
 * cluster bridge). */
#include "sio_internal.h"

#include <stdlib.h>
#include <string.h>

struct sio_restore_req {
    sio_server *io;
    sio_client *client;     /* NULL once it went away */
    sio_restore_req *next;  /* the client's list */
    json_t *auth;
    char pid[SIO_ID_LEN + 1];
    char offset[SIO_OFFSET_MAX];
    char nsp[];
};

static const char *const recoverable[] = {
    "transport error", "transport close",      "forced close",
    "ping timeout",    "server shutting down", "forced server close",
};

int sio_recoverable_reason(const char *reason)
{
    for (size_t i = 0; i < sizeof(recoverable) / sizeof(recoverable[0]); i++)
        if (strcmp(reason, recoverable[i]) == 0)
            return 1;
    return 0;
}

json_t *sio_data_with_offset(const json_t *data, const char *offset)
{
    json_t *copy = json_copy(SIO_UNCONST(json_t *, data)); /* shallow: arguments shared, unchanged */
    if (copy && json_array_append_new(copy, json_string(offset)) == 0)
        return copy;
    json_decref(copy);
    return NULL;
}

/* ---- restores --------------------------------------------------------------- */

const char *sio_restore_nsp(const sio_restore_req *r) { return r->nsp; }
const char *sio_restore_pid(const sio_restore_req *r) { return r->pid; }
const char *sio_restore_offset(const sio_restore_req *r) { return r->offset; }

static int pid_shaped(const char *s)
{
    if (strlen(s) != SIO_ID_LEN)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* auth {pid, offset} as a store can use them; anything else is a new session. */
static int restore_wanted(json_t *auth, const char **pid, const char **offset)
{
    json_t *p = json_object_get(auth, "pid"), *o = json_object_get(auth, "offset");
    uint64_t hi, lo;
    if (!json_is_string(p) || !json_is_string(o))
        return 0;
    *pid = json_string_value(p);
    *offset = json_string_value(o);
    return pid_shaped(*pid) && offset_parse(*offset, &hi, &lo) == 0;
}

int sio_recovery_start(sio_client *c, const char *nsp, json_t *auth)
{
    sio_server *io = c->srv;
    const char *pid, *offset;
    for (sio_restore_req *r = c->restores; r; r = r->next)
        if (strcmp(r->nsp, nsp) == 0)
            return 1; /* a second CONNECT while the first waits: ignored */
    if (!io->store.restore || !restore_wanted(auth, &pid, &offset))
        return 0;
    size_t len = strlen(nsp) + 1;
    sio_restore_req *r = calloc(1, sizeof(*r) + len);
    if (!r)
        return 0;
    r->io = io;
    r->client = c;
    r->auth = json_incref(auth);
    memcpy(r->pid, pid, SIO_ID_LEN + 1);
    strcpy(r->offset, offset);
    memcpy(r->nsp, nsp, len);
    r->next = c->restores;
    c->restores = r;
    io->store.restore(io->store.ctx, r);
    return 1;
}

void sio_recovery_forget(sio_client *c)
{
    for (sio_restore_req *r = c->restores; r; r = r->next)
        r->client = NULL;
    c->restores = NULL;
}

static void unlink_req(sio_restore_req *r)
{
    for (sio_restore_req **p = &r->client->restores; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

/* The session a store found, if it can be restored here: its id must not be
 * a live socket of the namespace (another connection still holds it). */
static const sio_restored *usable(sio_namespace *nsp, const sio_restored *res)
{
    if (!res || strlen(res->sid) != SIO_ID_LEN)
        return NULL;
    sio_socket *live = sio_socket_find(nsp, res->sid);
    if (live) /* a cluster store gave up the live socket's session: it is written again */
        sio_socket_touch(live);
    return live ? NULL : res;
}

void sio_restore_finish(sio_restore_req *r, const sio_restored *res)
{
    sio_client *c = r->client;
    sio_namespace *nsp = c ? sio_namespace_resolve(c->srv, r->nsp) : NULL;
    if (c)
        unlink_req(r);
    sio_socket *s = nsp ? sio_socket_new(nsp, c, r->auth) : NULL;
    if (s && (res = usable(nsp, res))) {
        memcpy(s->id, res->sid, SIO_ID_LEN + 1);
        memcpy(s->pid, r->pid, SIO_ID_LEN + 1);
        s->recovered = 1;
    }
    if (s)
        sio_socket_connect(s, s->recovered ? res : NULL);
    if (nsp)
        sio_namespace_release(nsp);
    json_decref(r->auth);
    free(r);
}

/* ---- the store -------------------------------------------------------------- */

void sio_server_set_recovery_store(sio_server *io, const sio_recovery_store *store)
{
    static const sio_recovery_store none = {0};
    if (io->store.destroy)
        io->store.destroy(io->store.ctx);
    io->store = store && io->cfg.recovery_window_ms ? *store : none;
}

void sio_recovery_unlist(sio_socket *s)
{
    sio_server *io = s->nsp->srv;
    if (!s->dirty)
        return;
    if (s->dirty_prev)
        s->dirty_prev->dirty_next = s->dirty_next;
    else
        io->dirty = s->dirty_next;
    if (s->dirty_next)
        s->dirty_next->dirty_prev = s->dirty_prev;
    s->dirty = 0;
    s->dirty_prev = s->dirty_next = NULL;
}

void sio_socket_touch(sio_socket *s)
{
    sio_server *io = s->nsp->srv;
    if (!io->store.wants_live || s->dirty || !s->pid[0])
        return;
    s->dirty = 1;
    s->dirty_prev = NULL;
    s->dirty_next = io->dirty;
    if (io->dirty)
        io->dirty->dirty_prev = s;
    io->dirty = s;
    if (!uv_is_active((uv_handle_t *)&io->dirty_flush))
        uv_timer_start(&io->dirty_flush, sio_recovery_flush, 0, 0);
}

void sio_recovery_flush(uv_timer_t *t)
{
    sio_server *io = t->data;
    while (io->dirty) {
        sio_socket *s = io->dirty;
        sio_recovery_unlist(s);
        if (io->store.session)
            io->store.session(io->store.ctx, s, SIO_SESSION_LIVE);
    }
}
