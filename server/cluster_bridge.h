/* cluster_bridge: the edge side of the link to the cluster thread.
 *
 * Owns the mailbox the cluster thread writes to and the uv_async that wakes the
 * edge loop; drains it on the edge thread and applies each message to the
 * sio_server (a broadcast is fanned out with its pre-encoded packet). The
 * bridge never touches cluster-thread data. */
#ifndef SIO_CLUSTER_BRIDGE_H
#define SIO_CLUSTER_BRIDGE_H

#include <uv.h>

#include "edge_stats.h"
#include "mailbox.h"
#include "sio.h"

typedef struct cluster_bridge cluster_bridge;

cluster_bridge *cluster_bridge_new(uv_loop_t *loop, sio_server *io, edge_stats *stats);
/* The mailbox the cluster thread pushes to (valid until cluster_bridge_close). */
mailbox *cluster_bridge_inbox(cluster_bridge *b);
/* Closes the async handle; frees once libuv has closed it. */
void cluster_bridge_close(cluster_bridge *b);

#endif
