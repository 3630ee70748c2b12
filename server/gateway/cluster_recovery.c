#include "cluster_recovery.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "sio_internal.h"

struct cluster_recovery {
    sio_server *io;
    mailbox *to_cluster;
    hashmap pending;            /* token (8 bytes) -> sio_restore_req */
    uint64_t next_token;
};

static void report_session(void *ctx, sio_socket *s, sio_session_event ev)
{
    cluster_recovery *r = ctx;
    size_t n = 0;
    const char **rooms = ev == SIO_SESSION_END ? NULL : sio_socket_room_names(s, &n);
    session_msg *m = session_msg_new(MSG_SESSION, sio_namespace_name(sio_socket_namespace(s)),
                                     sio_socket_id(s), s->pid, "", rooms, n);
    free(rooms);
    if (!m)
        return;
    m->event = ev == SIO_SESSION_LIVE      ? CLUSTER_SESSION_LIVE
               : ev == SIO_SESSION_PERSIST ? CLUSTER_SESSION_PERSIST
                                           : CLUSTER_SESSION_END;
    if (ev != SIO_SESSION_END)
        session_msg_set_data(m, sio_socket_has_data(s) ? json_deep_copy(sio_socket_data(s))
                                                        : json_object()); /* the message's own */
    mailbox_push(r->to_cluster, &m->hdr);
}

/* A restore waiting for the cluster; the map's key is its token. */
typedef struct waiting {
    uint64_t token;
    sio_restore_req *req;
} waiting;

static void restore(void *ctx, sio_restore_req *req)
{
    cluster_recovery *r = ctx;
    waiting *w = malloc(sizeof(*w));
    session_msg *m = w ? session_msg_new(MSG_RESTORE, sio_restore_nsp(req), "", sio_restore_pid(req),
                                         sio_restore_offset(req), NULL, 0)
                       : NULL;
    if (m)
        *w = (waiting){++r->next_token, req};
    if (!m || hashmap_put(&r->pending, (const char *)&w->token, sizeof(w->token), w)) {
        if (m)
            cluster_msg_unref(&m->hdr);
        free(w);
        sio_restore_finish(req, NULL);
        return;
    }
    m->token = w->token;
    if (mailbox_push(r->to_cluster, &m->hdr)) { /* full: a new session rather than a wait */
        hashmap_remove(&r->pending, (const char *)&w->token, sizeof(w->token));
        free(w);
        sio_restore_finish(req, NULL);
    }
}

static void destroy(void *ctx)
{
    cluster_recovery *r = ctx;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&r->pending, &it, &k, &klen, &v)) {
        sio_restore_finish(((waiting *)v)->req, NULL);
        free(v);
    }
    hashmap_free(&r->pending);
    free(r);
}

cluster_recovery *cluster_recovery_install(sio_server *io, mailbox *to_cluster)
{
    cluster_recovery *r = io->cfg.recovery_window_ms ? calloc(1, sizeof(*r)) : NULL;
    if (!r)
        return NULL;
    r->io = io;
    r->to_cluster = to_cluster;
    hashmap_init(&r->pending);
    sio_recovery_store st = {.ctx = r, .session = report_session, .wants_live = 1,
                             .restore = restore, .destroy = destroy};
    sio_server_set_recovery_store(io, &st);
    return r;
}

static void on_restored(cluster_recovery *r, session_msg *m)
{
    waiting *w = hashmap_remove(&r->pending, (const char *)&m->token, sizeof(m->token));
    sio_restore_req *req = w ? w->req : NULL;
    free(w);
    if (!req)
        return;
    sio_restored res = {m->sid, m->rooms, m->n_rooms, m->data,
                        m->packets, m->n_packets, m->offset};
    sio_restore_finish(req, m->event ? &res : NULL);
}

/* Redis came back, maybe empty: every live session is reported again. */
static void resync(cluster_recovery *r)
{
    size_t it = 0;
    sio_namespace *nsp;
    while ((nsp = sio_namespace_next(r->io, &it)))
        for (sio_socket *s = nsp->first; s; s = s->nsp_next)
            sio_socket_touch(s);
}

void cluster_recovery_on_msg(cluster_recovery *r, cluster_msg *m)
{
    if (m->type == MSG_RESTORED)
        on_restored(r, (session_msg *)m);
    else if (m->type == MSG_RESYNC)
        resync(r);
}
