/* cluster_bridge: the edge side of the link to the cluster thread.
 *
 * Owns the mailbox the cluster thread writes to and the uv_async that wakes the
 * edge loop; drains it on the edge thread and applies each message to the
 * sio_server (a broadcast is fanned out with its pre-encoded packet; a request
 * from another node is executed and answered). When attached to a cluster
 * adapter it is also the sio_adapter that reports namespaces, rooms and local
 * broadcasts. The bridge never touches cluster-thread data and knows no wire
 * format of the cluster: it sends plain data (cluster_msg.h: socket ids,
 * rooms, handshake snapshots, ack arguments and attachments), which the
 * cluster thread encodes. */
#ifndef SIO_CLUSTER_BRIDGE_H
#define SIO_CLUSTER_BRIDGE_H

#include <uv.h>

#include "cluster_msg.h"
#include "edge_stats.h"
#include "mailbox.h"
#include "sio.h"

typedef struct cluster_bridge cluster_bridge;

cluster_bridge *cluster_bridge_new(uv_loop_t *loop, sio_server *io, edge_stats *stats,
                                   const mailbox_limits *inbox);
/* The mailbox the cluster thread pushes to (valid until cluster_bridge_close). */
mailbox *cluster_bridge_inbox(cluster_bridge *b);
/* Where replies to the cluster thread go (metrics, responses). With
 * `as_adapter`, namespaces, rooms and local broadcasts are reported there too
 * and requests from other nodes are answered: the Redis cluster mode. */
void cluster_bridge_attach(cluster_bridge *b, mailbox *to_cluster, int as_adapter);
/* With recovery on (cfg.recovery_window_ms) in the Redis cluster mode: sessions
 * and the history live in the cluster (cluster_recovery.h). After
 * cluster_bridge_attach. */
void cluster_bridge_recover_in_cluster(cluster_bridge *b);
/* Calls done(ud) once every subscription the edge asked for so far is active
 * on Redis (at once when there is no cluster adapter). */
void cluster_bridge_barrier(void *bridge, void (*done)(void *ud), void *ud);
/* Where MSG_BACKEND_DONE answers go (borrowed for the call; edge thread). */
void cluster_bridge_on_backend(cluster_bridge *b, void (*fn)(void *ctx, backend_msg *m), void *ctx);
/* What to call when the cluster thread says the platform stops the task (MSG_DRAIN). */
void cluster_bridge_on_drain(cluster_bridge *b, void (*fn)(void *ctx), void *ctx);
/* Hands a message to the cluster thread (taking the reference): 0, -ENOBUFS
 * (its inbox is full) or -ENOTCONN (not attached, or detached); on error the
 * message is released. */
int cluster_bridge_send(void *bridge, cluster_msg *m);
/* Stops reporting to the cluster thread (before cluster_stop() frees its mailbox). */
void cluster_bridge_detach(cluster_bridge *b);
/* Closes the async handle; frees once libuv has closed it. */
void cluster_bridge_close(cluster_bridge *b);

#endif
