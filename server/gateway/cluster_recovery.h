/* cluster_recovery: the edge's recovery store when sessions and the history
 * live in the cluster (Redis, on the cluster thread).
 *
 * It is a sio_recovery_store without `record`: broadcasts made here are
 * published by the adapter and come back from the cluster with the offset it
 * gave them, so every node delivers them in the cluster's order. Sessions are
 * reported as they change (MSG_SESSION: live, kept, ended) so that a client
 * can recover on any node, even after its node died; a restore is a round
 * trip (MSG_RESTORE, answered by MSG_RESTORED with what the client missed).
 *
 * Edge thread only. The sio_server owns the store once installed: it is
 * destroyed when replaced (sio_server_set_recovery_store), and then answers
 * every restore still pending with "nothing found". */
#ifndef SIO_CLUSTER_RECOVERY_H
#define SIO_CLUSTER_RECOVERY_H

#include "cluster_msg.h"
#include "mailbox.h"
#include "sio.h"

typedef struct cluster_recovery cluster_recovery;

/* Installs the store on `io` (which must have recovery_window_ms); NULL when
 * out of memory or recovery is off. */
cluster_recovery *cluster_recovery_install(sio_server *io, mailbox *to_cluster);
/* MSG_RESTORED or MSG_RESYNC from the cluster thread (borrowed). */
void cluster_recovery_on_msg(cluster_recovery *r, cluster_msg *m);

#endif
