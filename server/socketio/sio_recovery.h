/* sio_recovery: connection state recovery, as socket.io 4.8's
 * connectionStateRecovery speaks it.
 *
 * With sio_config.recovery_window_ms, every socket also has a private id (its
 * pid); CONNECT is answered {sid, pid}; every recoverable broadcast (an event
 * that is neither volatile nor awaiting acks) carries its offset as its last
 * argument. A client that comes back with auth {pid, offset} within the window
 * gets its id, rooms and data again and, before anything new, every broadcast
 * it missed, in order, once (socket.recovered). Recoverable disconnect reasons
 * are socket.io's (sio_recoverable_reason).
 *
 * Where sessions and the history live is a store, an interface: the in-memory
 * one (recovery_memory.c, installed by sio_server_new) or one the application
 * sets (sio-server's cluster bridge: Redis, through the cluster thread).
 * Everything here runs on the edge thread. */
#ifndef SIO_SIO_RECOVERY_H
#define SIO_SIO_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "offset.h"
#include "random_id.h"
#include "sio.h"
#include "sio_outpacket.h"

#define SIO_OFFSET_MAX OFFSET_TEXT_MAX

typedef enum sio_session_event {
    SIO_SESSION_LIVE = 1, /* connected, or its rooms or data changed (once per loop turn) */
    SIO_SESSION_PERSIST,  /* gone for a recoverable reason: keep it for the window */
    SIO_SESSION_END,      /* gone for good */
} sio_session_event;

/* What a store found for a restore (borrowed for the sio_restore_finish call). */
typedef struct sio_restored {
    const char *sid;
    const char *const *rooms;     /* its own room may be among them */
    size_t n_rooms;
    const json_t *data;           /* socket.data (copied); NULL: {} */
    sio_outpacket *const *missed; /* in order, each already carrying its offset */
    size_t n_missed;
    /* the newest offset the store looked at: a live broadcast at or before it
     * is one the replay covered, and is not sent again ("" when none) */
    const char *covered;
} sio_restored;

/* A pending restore: a CONNECT with auth {pid, offset}. */
typedef struct sio_restore_req sio_restore_req;
const char *sio_restore_nsp(const sio_restore_req *r);
const char *sio_restore_pid(const sio_restore_req *r);
const char *sio_restore_offset(const sio_restore_req *r);
/* Answers a restore, now or later: with NULL the client gets a new session.
 * Frees `r`; safe when its client went away meanwhile. */
void sio_restore_finish(sio_restore_req *r, const sio_restored *res);

typedef struct sio_recovery_store {
    void *ctx;
    /* A recoverable broadcast made on this node: stores it and returns it
     * encoded with its offset (one reference) for local delivery, or NULL
     * when out of memory. When NULL itself, the store is a cluster's: the
     * adapter publishes the broadcast, the cluster gives it its offset and
     * delivers it here too, in the cluster's order. */
    sio_outpacket *(*record)(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                             const json_t *data, const sio_bin *bins, size_t n_bins);
    /* Optional: told of sessions (LIVE only when wants_live). */
    void (*session)(void *ctx, sio_socket *s, sio_session_event ev);
    int wants_live;
    /* Looks up a session and what it missed; answers with sio_restore_finish. */
    void (*restore)(void *ctx, sio_restore_req *req);
    /* Optional: the store is replaced, or the server freed. */
    void (*destroy)(void *ctx);
} sio_recovery_store;

/* Replaces the server's store (the previous one is destroyed); NULL: none.
 * Without recovery_window_ms it is ignored. */
void sio_server_set_recovery_store(sio_server *io, const sio_recovery_store *store);

/* socket.io's RECOVERABLE_DISCONNECT_REASONS. */
int sio_recoverable_reason(const char *reason);


/* [..., offset]: a copy of `data` with the offset appended (NULL: no memory). */
json_t *sio_data_with_offset(const json_t *data, const char *offset);
/* The in-memory store (recovery_memory.c), bounded by cfg's window, packets
 * and bytes. */
int sio_recovery_memory(uv_loop_t *loop, const sio_config *cfg, sio_recovery_store *out);

#endif
