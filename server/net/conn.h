/* conn: one client TCP connection of the edge, on a libwebsockets raw socket,
 * and the conn_pool that keeps what the connections share: their deadlines,
 * the per-peer count of connections still sending headers, and the calls
 * deferred to a safe point of the loop.
 *
 * libwebsockets owns the socket on the libuv loop: it accepts, reads, writes
 * what it can at once and keeps the rest (asking for POLLOUT only then), and
 * closes (edge_lws.c). The protocol spoken on the connection is a conn_ops
 * implementation: HTTP/1.1 (http1.c) from the first byte, WebSocket (ws.c)
 * after an upgrade. Its state lives inside the conn (`proto`), so a
 * connection is one allocation, lws's per-session data.
 *
 * Ownership and lifetime: lws allocates and frees the conn. on_close is the
 * last call for it; after conn_kill() or a failed write the connection is
 * dead at once (writes are ignored) and on_close follows from the loop, never
 * from inside the caller's stack. Everything runs on the edge thread. */
#ifndef SIO_NET_CONN_H
#define SIO_NET_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "deadline_list.h"
#include "deadline_timer.h"
#include "hashmap.h"
#include "http1.h"
#include "ws.h"

struct lws;
typedef struct conn conn;

typedef struct conn_ops {
    /* Bytes received; writable in place, valid during the call. Return 0, or
     * -1 to close the connection at once. */
    int (*on_data)(conn *c, uint8_t *p, size_t n);
    /* Everything written has left the process (after a short write). */
    void (*on_drained)(conn *c);
    /* The connection is gone: release the protocol's state. */
    void (*on_close)(conn *c);
    /* Asked for with conn_defer(): runs at the next check of the loop. */
    void (*on_deferred)(conn *c);
} conn_ops;

enum conn_state {
    CONN_OPEN,
    CONN_FLUSHING, /* closing once the output has left */
    CONN_LINGER,   /* FIN sent; reading and discarding until the peer's FIN */
    CONN_DEAD,     /* killed; on_close is coming */
};

/* The deadlines a connection can be waiting for, one at a time. */
enum conn_deadline {
    CONN_DL_NONE,
    CONN_DL_HEAD,   /* a request's headers must be complete */
    CONN_DL_BODY,   /* the request body must be complete */
    CONN_DL_IDLE,   /* keep-alive: the next request must start */
    CONN_DL_CLOSE,  /* WebSocket: the client's close frame must arrive */
    CONN_DL_LINGER, /* the client must close after our FIN */
    CONN_DL_COUNT,
};

typedef struct conn_pool_config {
    uint32_t header_timeout_ms, body_timeout_ms, idle_timeout_ms;
    uint32_t max_pending_per_peer;
    /* a new connection: start its first protocol */
    void (*on_open)(void *ctx, conn *c);
    void *ctx;
} conn_pool_config;

typedef struct conn_pool {
    conn_pool_config cfg;
    uv_loop_t *loop;
    deadline_list deadlines[CONN_DL_COUNT];
    deadline_timer timer;
    hashmap peers;           /* address -> struct conn_peer */
    size_t count;            /* connections open now */
    uv_check_t defer_check;  /* runs conn_defer() requests and kills */
    conn **deferred;
    size_t n_deferred, cap_deferred;
    int closing_handles;
    void (*on_freed)(void *ctx);
} conn_pool;

void conn_pool_init(conn_pool *p, uv_loop_t *loop, const conn_pool_config *cfg);
/* After every connection closed: closes the pool's handles, then on_freed(ctx). */
void conn_pool_close(conn_pool *p, void (*on_freed)(void *ctx));

struct conn {
    /* what a write reads first, in a few bytes (proto.ws begins with its flags) */
    uint8_t state;               /* enum conn_state */
    uint8_t dl;                  /* enum conn_deadline armed */
    uint8_t deferred;            /* in the edge's deferred list */
    uint8_t lws_may_hold;        /* bytes were handed to lws, which may still hold some */
    int fd;                      /* the socket, lws's */
    union {
        http1_state *http;       /* while HTTP/1.1 (heap: a WebSocket does not carry it) */
        ws_state ws;
    } proto;
    struct lws *wsi;
    const conn_ops *ops;
    void *user;                  /* the layer above's, e.g. the Engine.IO session */
    conn_pool *pool;
    deadline_entry deadline;
    conn *peer_prev, *peer_next; /* in the edge's list of the peer's connections in headers */
    struct conn_peer *peer;      /* non-NULL while in that list */
    uint64_t head_since_ms;      /* when it entered that list */
    char peer_addr[48];          /* the TCP peer's address, IPv4-mapped shown as IPv4 */
};

/* Writes now; what the socket cannot take is kept by lws and sent later
 * (on_drained then follows). 0, or -1 when the connection is dead or failed. */
int conn_write(conn *c, const void *p, size_t n);
/* Several buffers in one system call when nothing is buffered. */
int conn_writev(conn *c, const struct iovec *iov, int n);
/* 1 while lws holds bytes a short write left. */
int conn_buffered(conn *c);
/* Ends the connection: `graceful` sends what is buffered, then a FIN, and
 * reads until the client closes (or a deadline), so a reset never destroys a
 * response still in flight; otherwise the connection is dropped at once. */
void conn_close(conn *c, int graceful);
void conn_kill(conn *c);
int conn_alive(const conn *c);
/* Arms one of the deadlines (replacing the one armed), or CONN_DL_NONE. */
void conn_set_deadline(conn *c, enum conn_deadline which);
/* Stops (0) or restarts (1) reading the socket: backpressure. */
void conn_read_enable(conn *c, int on);
/* Calls ops->on_deferred at the next check of the loop, outside the current
 * call stack (once, however often it is asked before then). */
void conn_defer(conn *c);
/* The connection's events, from edge_lws.c (see edge_lws_events). */
void conn_on_adopt(conn_pool *pool, conn *c, struct lws *wsi);
int conn_on_readable(conn *c, uint8_t *p, size_t n);
void conn_on_writable(conn *c);
void conn_on_closed(conn *c); /* c may be NULL: closed before adoption */

/* Accounting of connections still sending their request headers, per peer.
 * Past the edge's max_pending_per_peer, entering closes that peer's oldest one
 * if it has been at it for a second or more (a slowloris); a burst of fresh
 * connections is never refused by this. */
void conn_enter_head(conn *c);
void conn_leave_head(conn *c);

#endif
