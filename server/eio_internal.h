/* eio_internal: the structures shared by eio_server.c and its transports
 * (eio_polling.c, eio_websocket.c, edge.c). Not part of the public API.
 *
 * A session points at the lws connections that serve it (held GET, in-flight
 * POST, WebSocket, WebSocket being probed), and each such connection's
 * eio_conn points back. session_destroy() clears both sides, so neither
 * outlives the other with a dangling pointer. */
#ifndef SIO_EIO_INTERNAL_H
#define SIO_EIO_INTERNAL_H

#include <libwebsockets.h>

#include "bytebuf.h"
#include "deadline_list.h"
#include "deadline_timer.h"
#include "eio_server.h"
#include "hashmap.h"
#include "send_queue.h"

#define EIO_SID_LEN 20

enum eio_session_state { SESSION_OPEN, SESSION_CLOSING, SESSION_CLOSED };
enum eio_upgrade_state { UPGRADE_NONE, UPGRADE_PROBING, UPGRADE_PROBED };

struct eio_session {
    char sid[EIO_SID_LEN + 1];
    eio_server *srv;
    uint8_t transport;      /* EIO_TRANSPORT_* */
    uint8_t state;          /* eio_session_state */
    uint8_t upgrade;        /* eio_upgrade_state */
    uint8_t awaiting_pong;
    uint8_t refreshed_timeout; /* the ping timeout was extended once this cycle */
    uint8_t doomed;         /* queued for the reaper: sends fail until it is destroyed */
    uint8_t dirty;          /* in srv->dirty: frames to write at the end of this loop turn */
    eio_session *reap_next;
    eio_session *dirty_next;
    struct lws *ws;         /* active WebSocket */
    struct lws *poll_get;   /* held long-polling GET */
    struct lws *poll_post;  /* POST in flight */
    struct lws *probe_ws;   /* WebSocket being upgraded to */
    send_queue queue;
    deadline_entry heartbeat;     /* armed in srv->ping_due or srv->pong_due */
    deadline_entry upgrade_timer; /* armed in srv->upgrade_due while probing */
    const char *close_reason;
    uint16_t close_ws_code;  /* WebSocket close status when the server ends it */
    eio_request_info req;   /* strings live in req_storage */
    uint8_t counted_ip;     /* holds a slot in srv->per_ip */
    char *req_storage;
    void *user;
};

/* Kinds of lws connection the edge hands us. */
enum eio_conn_kind { CONN_NEW, CONN_POLL_GET, CONN_POLL_POST, CONN_WS_HANDSHAKE, CONN_WS, CONN_DONE };

/* Per-connection data (lws per_session_data). Zeroed by lws on creation. */
typedef struct eio_conn {
    uint8_t kind;            /* eio_conn_kind */
    uint8_t body_too_large;
    uint8_t set_cookie;       /* handshake response: send the stickiness cookie */
    uint8_t ws_upgrade;       /* WebSocket: upgrades an existing polling session */
    char respond_with;        /* polling: answer the held GET with this packet, then done */
    frame *control;           /* WebSocket: a frame to write before the queue (3probe) */
    uint16_t close_code;      /* WebSocket: status to close with once released */
    uint8_t close_sent;       /* WebSocket: our close frame is out; awaiting the reply */
    eio_server *srv;
    eio_session *session;    /* NULL once detached */
    bytebuf rx;              /* POST body, or a fragmented WebSocket message */
    char sid[EIO_SID_LEN + 1]; /* WebSocket: sid chosen or named at the upgrade */
    char cors_origin[256];   /* Origin to echo in CORS headers, "" for none/"*" */
    uint8_t cors_mode;       /* 0 none, 1 "*", 2 echo origin */
} eio_conn;

struct eio_server {
    uv_loop_t *loop;
    eio_config cfg;
    eio_handler handler;
    hashmap sessions;          /* sid -> eio_session */
    deadline_list ping_due;    /* delay: ping interval */
    deadline_list pong_due;    /* delay: ping timeout */
    deadline_list upgrade_due; /* delay: upgrade timeout */
    deadline_timer timer;      /* drives the three lists above */
    uv_timer_t reaper;         /* destroys slow consumers outside of any send */
    eio_session *reap_list;
    eio_session *dirty;        /* WebSocket sessions with frames to flush this loop turn */
    uv_prepare_t flush_prepare;/* flushes before the loop blocks (sends made by timers) */
    uv_check_t flush_check;    /* flushes after I/O callbacks (sends made by them) */
    int open_handles;
    frame *ping_frame, *pong_probe_frame, *noop_frame, *close_frame;
    eio_counters counters;
    int draining;
    hashmap per_ip;            /* remote address -> session count (when limited) */
    char open_json_tail[160];  /* ,"pingInterval":..} */
};

/* eio_server.c, for the transports */
/* 0 when a new session from this request may be created, else the HTTP status
 * to refuse it with (503). */
int eio_admission(eio_server *srv, struct lws *wsi);
eio_session *eio_session_find(eio_server *srv, const char *sid);
eio_session *eio_session_create(eio_server *srv, unsigned transport, const char *sid,
                                struct lws *wsi);
void eio_session_destroy(eio_session *s, const char *reason);
/* One decoded packet from the client over the session's active transport. */
void eio_session_on_packet(eio_session *s, const eio_packet *p);
/* Writes the open packet's JSON ("{...}") for `s` into out. */
int eio_open_packet(eio_session *s, bytebuf *out);
/* Queues the open packet ("0{...}"): the first thing a new session sends. */
int eio_session_send_open(eio_session *s);
void eio_generate_sid(char out[EIO_SID_LEN + 1]);
void eio_session_wake(eio_session *s); /* ask the active transport to write */
void eio_session_on_probe_packet(eio_session *s, const eio_packet *p);
void eio_session_start_probe(eio_session *s, struct lws *wsi);
uint64_t eio_now_ms(eio_server *srv);

/* eio_polling.c */
int eio_polling_http(eio_server *srv, struct lws *wsi, eio_conn *c, const char *uri);
int eio_polling_body(eio_conn *c, struct lws *wsi, const void *in, size_t len);
int eio_polling_body_done(eio_conn *c, struct lws *wsi);
int eio_polling_writable(eio_conn *c, struct lws *wsi);
void eio_polling_closed(eio_conn *c, struct lws *wsi);
/* Detaches a held GET from its session and answers it with one packet. */
void eio_polling_release(struct lws *wsi, char packet_type);
/* Shared helpers: a complete small HTTP response, and the Engine.IO JSON error. */
int eio_http_respond(struct lws *wsi, const eio_conn *c, unsigned status, const char *ctype,
                     const char *extra_headers, const void *body, size_t len);
int eio_http_error(struct lws *wsi, const eio_conn *c, int code);
const char *eio_error_message(int code);
/* Fills c->cors_*; returns -1 when the Origin is refused. */
int eio_cors_check(eio_server *srv, struct lws *wsi, eio_conn *c);
int eio_fill_request_info(eio_session *s, struct lws *wsi);
void eio_remote_addr(struct lws *wsi, char *out, size_t len);

/* eio_websocket.c */
/* HTTP_CONFIRM_UPGRADE: 0 proceed, -1 hang up, 1 answered with engine.io's 400. */
int eio_ws_confirm_upgrade(eio_server *srv, struct lws *wsi);
int eio_ws_filter(eio_server *srv, struct lws *wsi, eio_conn *c); /* upgrade request */
int eio_ws_add_headers(eio_conn *c, struct lws *wsi, void *in);
int eio_ws_established(eio_conn *c, struct lws *wsi);
int eio_ws_receive(eio_conn *c, struct lws *wsi, const void *in, size_t len);
int eio_ws_writable(eio_conn *c, struct lws *wsi);
void eio_ws_closed(eio_conn *c, struct lws *wsi);
/* The fast path of a send, once per loop turn per session: writes every queued
 * frame (coalesced into one write when there are several) when the session's
 * WebSocket has nothing buffered in lws. Returns 1 when it wrote, 0 when the
 * frames must wait for a WRITEABLE callback. Asking lws for WRITEABLE toggles
 * POLLOUT, which libuv implements as epoll_ctl DEL + ADD each way: four
 * syscalls per delivery that this saves. */
int eio_ws_write_now(eio_session *s);
/* Queues a control frame on this connection ahead of the session's queue. */
void eio_ws_send_control(struct lws *wsi, frame *f);
/* Detaches a WebSocket from its session and closes it with `code` (0: 1000). */
void eio_ws_release(struct lws *wsi, uint16_t code);

#endif
