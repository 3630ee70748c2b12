/* bench_worker.h: a worker process's state, its client connections, and the
 * interface between the client state machines (Socket.IO: bench_conn.c; a
 * plain WebSocket client: bench_plain.c) and the transports that carry their
 * messages (bench_ws.c, bench_poll.c). */
#ifndef SIO_BENCH_WORKER_H
#define SIO_BENCH_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "bench.h"
#include "bench_stats.h"

typedef struct bench_worker bench_worker;
typedef struct bench_conn bench_conn;

typedef enum {
    CS_IDLE = 0,       /* not started */
    CS_HANDSHAKE,      /* TCP connect and HTTP handshake (and Engine.IO open) */
    CS_WAIT_CONNECT,   /* Engine.IO open seen, namespace CONNECT sent */
    CS_WAIT_SUBSCRIBE, /* joined, subscribe sent */
    CS_READY,          /* subscribed: receiving */
    CS_CLOSED,
} conn_state;

/* Why a connection ended: selects the counter it is added to. */
typedef enum {
    FAIL_CONNECT,   /* TCP connect failed, or the peer closed during the handshake */
    FAIL_REFUSED,   /* HTTP handshake answered with an unexpected status */
    FAIL_PROTOCOL,  /* malformed or unexpected data */
    FAIL_NSP,       /* CONNECT_ERROR */
    FAIL_SUBSCRIBE, /* subscribe refused */
    FAIL_TIMEOUT,   /* ramp-up timeout */
    FAIL_CLOSED,    /* the server closed the connection */
} conn_fail_kind;

struct bench_conn {
    bench_worker *w;
    void *tp;          /* transport state */
    bench_sub *subs;
    uint32_t client;   /* global client index */
    uint32_t ack_id;   /* of the last subscribe request (they are 1..ack_id) */
    uint32_t acks_due; /* subscribe requests not answered yet */
    uint8_t state;
    uint8_t n_subs;
    uint8_t url;       /* index into cfg->urls */
    uint8_t subscribed; /* reached CS_READY: its rooms count as subscriptions */
};

typedef struct bench_transport_ops {
    /* Starts connecting; on failure calls conn_fail() and returns -1. */
    int (*start)(bench_conn *c);
    /* Sends one Engine.IO packet; returns -1 when the transport is broken. */
    int (*send)(bench_conn *c, const char *pkt, size_t len);
    /* Sends one binary Engine.IO message (--parser msgpack); -1 when broken. */
    int (*send_binary)(bench_conn *c, const uint8_t *p, size_t len);
    /* Releases the transport (idempotent). */
    void (*close)(bench_conn *c);
} bench_transport_ops;

extern const bench_transport_ops bench_ws_ops;
extern const bench_transport_ops bench_poll_ops;

struct bench_worker {
    const bench_config *cfg;
    const bench_transport_ops *ops;
    struct event_base *base;
    bench_conn *conns;
    uint32_t n_conns;
    uint32_t first_client;
    uint32_t next_start;   /* next connection to start */
    uint32_t in_progress;  /* started, not yet ready or failed */
    uint32_t settled;      /* ready or failed */
    uint64_t now_us;       /* wall clock, refreshed after every read */
    uint64_t rng;
    bench_counters st;
    bench_hist lat;
    size_t prefix_len;     /* strlen(cfg->room_prefix) */
};

/* ---- bench_conn.c: the Engine.IO / Socket.IO client ---- */
int conn_start(bench_conn *c);
/* One Engine.IO packet from the transport (text, without framing). */
void conn_on_packet(bench_conn *c, const uint8_t *p, size_t n);
/* Ends the connection: counts it by kind and records msg. */
void conn_fail(bench_conn *c, conn_fail_kind kind, const char *msg);
/* The URL this connection uses. */
const bench_url *conn_url(const bench_conn *c);
/* Subscribed (or nothing to subscribe to): counts the client as ready. */
void conn_set_ready(bench_conn *c);
/* Sends one message through the transport; on failure ends the connection, returns -1. */
int conn_send(bench_conn *c, const char *msg, size_t len);
/* Appends the client's rooms as JSON strings ("r-1","r-2") at buf + *len
 * (cap bytes in all, sized by the caller); -1 when a name does not fit. */
/* Appends the quoted names of subs [from, to) joined by commas; -1 when too long. */
int conn_room_list(const bench_conn *c, uint8_t from, uint8_t to, char *buf, size_t *len, size_t cap);

/* The namespace CONNECT was acknowledged: subscribe (or be ready). */
void conn_on_joined(bench_conn *c);
/* CONNECT_ERROR with its message. */
void conn_on_refused(bench_conn *c, const char *why);
/* The answer to subscribe request `id`. */
void conn_on_subscribe_ack(bench_conn *c, uint32_t id, int ok, const char *why);
/* One binary Engine.IO message (WebSocket binary frame, or polling "b" packet, decoded). */
void conn_on_binary(bench_conn *c, const uint8_t *p, size_t n);

/* ---- bench_msgpack.c: socket.io-msgpack-parser packets (--parser msgpack) ---- */
int mp_send_connect(bench_conn *c);
int mp_send_subscribe(bench_conn *c, uint8_t from, uint8_t to, uint32_t id);
void conn_on_msgpack(bench_conn *c, const uint8_t *p, size_t n);

/* ---- bench_plain.c: the plain WebSocket client (--plain-path) ---- */
/* The request target of the upgrade: the path, ?token=... with --token. -1 when too long. */
int plain_target(const bench_config *cfg, char *out, size_t n);
/* The upgrade succeeded: subscribe (or be ready). */
void plain_on_open(bench_conn *c);
/* One text message (a whole one, in place). */
void plain_on_text(bench_conn *c, const uint8_t *p, size_t n);
/* A close frame: 1008 before ready is a refusal (bad token, connect proxy). */
void plain_on_close(bench_conn *c, unsigned code, const char *msg);

/* ---- bench_worker.c ---- */
/* A connection became ready (ok = 1) or failed before that (ok = 0). */
void worker_conn_settled(bench_worker *w, bench_conn *c, int ok);
/* Runs a worker over clients [first, first + n); reports on ipc_fd. Returns the exit code. */
int worker_run(const bench_config *cfg, uint32_t index, uint32_t first, uint32_t n, int ipc_fd);

/* ---- bench_scan.c: the receive hot path ---- */
typedef struct bench_event {
    uint64_t t;
    uint32_t seq;
    const char *room;
    size_t room_len;
} bench_event;
/* Scans an EVENT payload '["bench",{...}]'. Returns 1 with ev filled for a
 * bench event, 0 for another event, -1 when a bench event lacks a field. */
int scan_bench_event(const uint8_t *p, size_t n, bench_event *ev);
/* The same for a plain client's message '{"event":"bench","data":{...}}';
 * 0 for anything else (another event, a reply). */
int scan_plain_event(const uint8_t *p, size_t n, bench_event *ev);
/* A bench delivery of a subscription of c: sequence, latency (bench_conn.c). */
void conn_on_bench(bench_conn *c, const bench_event *ev);
/* Finds "key":"value" in p and copies the value (JSON escapes kept). */
int scan_string_field(const uint8_t *p, size_t n, const char *key, char *out, size_t outlen);

#endif
