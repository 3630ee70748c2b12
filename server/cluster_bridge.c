#include "cluster_bridge.h"

#include <stdlib.h>

#include "sio_internal.h"

struct cluster_bridge {
    uv_async_t async;
    sio_server *io;
    edge_stats *stats;
    mailbox inbox;
};

static void apply_broadcast(cluster_bridge *b, broadcast_msg *m)
{
    EDGE_STAT_ADD(b->stats, broadcasts_in, 1);
    sio_namespace *nsp = sio_find_namespace(b->io, m->nsp);
    if (!nsp) /* nobody ever connected to it here */
        return;
    sio_broadcast_opts opts = {m->rooms, m->n_rooms, m->except, m->n_except, m->is_volatile};
    int n = sio_namespace_deliver(nsp, &opts, m->packet);
    if (n > 0)
        EDGE_STAT_ADD(b->stats, deliveries, (unsigned long)n);
}

static void on_async(uv_async_t *h)
{
    cluster_bridge *b = h->data;
    cluster_msg *m = mailbox_drain(&b->inbox);
    while (m) {
        cluster_msg *next = m->next;
        if (m->type == MSG_BROADCAST)
            apply_broadcast(b, (broadcast_msg *)m);
        cluster_msg_unref(m);
        m = next;
    }
}

static void wake_edge(void *ctx)
{
    uv_async_send(ctx);
}

cluster_bridge *cluster_bridge_new(uv_loop_t *loop, sio_server *io, edge_stats *stats)
{
    cluster_bridge *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->io = io;
    b->stats = stats;
    if (mailbox_init(&b->inbox, 0, wake_edge, &b->async) || uv_async_init(loop, &b->async, on_async)) {
        free(b);
        return NULL;
    }
    b->async.data = b;
    return b;
}

mailbox *cluster_bridge_inbox(cluster_bridge *b)
{
    return &b->inbox;
}

static void free_bridge(uv_handle_t *h)
{
    cluster_bridge *b = h->data;
    mailbox_destroy(&b->inbox);
    free(b);
}

void cluster_bridge_close(cluster_bridge *b)
{
    if (b)
        uv_close((uv_handle_t *)&b->async, free_bridge);
}
