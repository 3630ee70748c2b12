/* eio_server: Engine.IO v4 (and, with allow_eio3, v3) sessions over
 * libwebsockets, on the edge thread.
 *
 * An eio_server owns the sessions handshaken on one path (e.g. "/socket.io/"):
 * the sid table, heartbeats, upgrades and every session's bounded send queue.
 * The edge routes that path's HTTP requests to its handler (eio_server_mount); the
 * transports (eio_polling.c, eio_websocket.c) feed the sessions packets; the
 * layer above (Socket.IO, or an echo) sees only eio_handler callbacks and
 * sends shared frames. Everything here runs on the edge thread's loop.
 *
 * Ownership: the server owns its sessions; a session is freed right after
 * on_close returns, so the upper layer must drop its pointer there. Frames passed
 * to eio_session_send() are borrowed (the queue takes its own reference). */
#ifndef SIO_EIO_SERVER_H
#define SIO_EIO_SERVER_H

#include <stddef.h>

#include <uv.h>

#include "eio_config.h"
#include "eio_packet.h"
#include "frame.h"

/* eio_server (opaque), eio_request_info and eio_server_mount() are part of the
 * public C API: they are declared in sio_engine.h, included by eio_config.h. */
typedef struct eio_session eio_session;

typedef struct eio_handler {
    void *ctx;
    void (*on_open)(void *ctx, eio_session *s);
    /* A MESSAGE packet; `p->data` is valid only during the call. */
    void (*on_message)(void *ctx, eio_session *s, const eio_packet *p);
    /* The session is gone after this returns. `reason` as engine.io names it:
     * "transport close", "transport error", "ping timeout", "parse error",
     * "forced close", "server shutting down". */
    void (*on_close)(void *ctx, eio_session *s, const char *reason);
} eio_handler;

/* Counters of one server, edge thread only (read them there, e.g. for metrics). */
typedef struct eio_counters {
    uint64_t handshakes;
    uint64_t handshakes_refused;   /* draining, MAX_CONNECTIONS, per-IP limit */
    uint64_t messages_in, messages_out;
    uint64_t bytes_in, bytes_out;
    uint64_t slow_consumer_closes;
    uint64_t volatile_dropped;
} eio_counters;

eio_server *eio_server_new(uv_loop_t *loop, const eio_config *cfg, const eio_handler *h);
/* Closes every session (on_close with "server shutting down") and frees. */
void eio_server_free(eio_server *srv);
const eio_config *eio_server_config(const eio_server *srv);
size_t eio_server_session_count(const eio_server *srv);
const eio_counters *eio_server_counters(const eio_server *srv);
/* Sessions per transport and bytes waiting in send queues (walks every session). */
typedef struct eio_census {
    size_t polling, websocket, plain, queued_bytes;
} eio_census;
void eio_server_census(const eio_server *srv, eio_census *out);
/* Draining: new handshakes are refused with 503 (sessions already open go on). */
void eio_server_set_draining(eio_server *srv, int draining);
/* Closes up to `n` sessions (WebSocket close `ws_code`, e.g. 1001 "going away";
 * polling sessions get a close packet). Returns how many were asked to close. */
size_t eio_server_close_some(eio_server *srv, size_t n, uint16_t ws_code, const char *reason);

/* 0: queued. -1: the queue is full; the session is closing as a slow consumer. */
int eio_session_send(eio_session *s, frame *f);
/* Sends only when the transport can take it right now (queue empty); else drops. */
int eio_session_send_volatile(eio_session *s, frame *f);
/* Flushes what is queued, then closes ("forced close" when `reason` is NULL). */
void eio_session_close(eio_session *s, const char *reason);
/* The same with the WebSocket close status and reason text the client sees
 * (`text` copied; NULL none). */
void eio_session_close_ws(eio_session *s, uint16_t ws_code, const char *text, const char *reason);

/* Stops reading the client (a WebSocket: what it sends waits in the kernel
 * and a bounded stash) until called again with 0, e.g. while the upper layer
 * decides whether to admit it. Its pongs and its close are not read either,
 * so the heartbeat waits too (the connect timeout bounds the hold); closing
 * the session ends the hold. */
void eio_session_hold_input(eio_session *s, int hold);

const char *eio_session_id(const eio_session *s);
unsigned eio_session_transport(const eio_session *s); /* EIO_TRANSPORT_* */
/* The session's Engine.IO revision: 4, or 3 (a socket.io-client 2.x, with
 * eio_config.allow_eio3). */
unsigned eio_session_protocol(const eio_session *s);
/* Hints for a loop sending to many sessions (a room's fan-out): the first
 * brings the session's send state into cache, the second, issued later (once
 * that state is in cache), what it points to (its send queue's next slot).
 * No effect on behaviour; a NULL session is ignored. */
void eio_session_prefetch(const eio_session *s);
void eio_session_prefetch_queue(const eio_session *s);
const eio_request_info *eio_session_request(const eio_session *s);
void eio_session_set_user(eio_session *s, void *user);
void *eio_session_user(const eio_session *s);

#endif
