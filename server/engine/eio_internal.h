/* eio_internal: the structures shared by eio_server.c (sessions, heartbeats,
 * the send path), eio_request.c (the HTTP handler that admits requests) and
 * the two transports (eio_polling.c, eio_websocket.c). Not a public API.
 *
 * A session points at the connections that serve it (a held GET, a POST being
 * answered, the WebSocket, a WebSocket being probed for an upgrade); each of
 * those connections is known to the session only, and the transports clear
 * the session's pointer when a connection goes away, so neither side outlives
 * the other with a dangling pointer. The session code reaches its transport
 * only through eio_transport. */
#ifndef SIO_EIO_INTERNAL_H
#define SIO_EIO_INTERNAL_H

#include "bytebuf.h"
#include "conn.h"
#include "deadline_list.h"
#include "deadline_timer.h"
#include "eio_query.h"
#include "eio_server.h"
#include "hashmap.h"
#include "http1.h"
#include "send_queue.h"

#define EIO_SID_LEN EIO_QUERY_SID_LEN

enum eio_session_state { SESSION_OPEN, SESSION_CLOSING, SESSION_CLOSED };
enum eio_upgrade_state { UPGRADE_NONE, UPGRADE_PROBING, UPGRADE_PROBED };

/* What the session needs of the transport that carries it. */
typedef struct eio_transport {
    unsigned id;            /* EIO_TRANSPORT_* */
    uint8_t upgradable;     /* may be upgraded to a WebSocket */
    uint8_t close_packet;   /* a closing session sends a close packet ("1") */
    uint8_t control_ping;   /* heartbeats are WebSocket ping frames, not "2" */
    /* Writes what is queued if the transport can take it now. */
    void (*flush)(eio_session *s);
    /* 1 when a packet sent now goes out at once (volatile packets). */
    int (*ready)(const eio_session *s);
    /* The session ends (`reason` as engine.io names it): detach from its
     * connections and finish them. */
    void (*release)(eio_session *s, const char *reason);
    /* The session moves to another transport: finish this one's connections
     * without ending the session. */
    void (*detach)(eio_session *s);
} eio_transport;

extern const eio_transport eio_polling_transport;
extern const eio_transport eio_websocket_transport;
extern const eio_transport eio_plain_transport;

struct eio_session {
    /* what a send and the end-of-turn flush read, in the first two cache lines
     * (eio_session_prefetch) */
    const eio_transport *tp;
    eio_server *srv;
    uint8_t state;             /* eio_session_state */
    uint8_t upgrade;           /* eio_upgrade_state */
    uint8_t awaiting_pong;
    uint8_t refreshed_timeout; /* the ping timeout was extended once this cycle */
    uint8_t doomed;            /* queued for the reaper: sends fail until it is destroyed */
    uint8_t dirty;             /* in srv->dirty: to flush at the end of this loop turn */
    uint8_t set_cookie;        /* the first polling answer carries the stickiness cookie */
    uint8_t hold_input;        /* eio_session_hold_input(): the client is not read */
    uint8_t protocol;          /* Engine.IO revision: 4, or 3 (cfg.allow_eio3) */
    uint8_t b64;               /* v3: the handshake asked for b64 (no binary framing) */
    eio_session *dirty_next;
    conn *ws;                  /* the WebSocket */
    send_queue queue;
    eio_session *reap_next;
    char sid[EIO_SID_LEN + 1];
    conn *poll_get;            /* a held long-polling GET */
    conn *poll_post;           /* a POST whose payload is being decoded */
    conn *probe;               /* a WebSocket being upgraded to */
    deadline_entry heartbeat;     /* armed in srv->ping_due or srv->pong_due */
    deadline_entry upgrade_timer; /* armed in srv->upgrade_due while probing */
    const char *close_reason;
    uint16_t close_ws_code;    /* WebSocket close status when the server ends it */
    char *close_ws_text;       /* its reason (plain clients), NULL when none */
    eio_request_info req;      /* strings live in req_storage */
    uint8_t counted_ip;        /* holds a slot in srv->per_ip */
    char *req_storage;
    void *user;
};

struct eio_server {
    uv_loop_t *loop;
    eio_config cfg;
    eio_handler handler;
    http_handler http;         /* what the edge routes this server's path to */
    http_handler plain_http;   /* and its plain_path (eio_plain.c) */
    hashmap sessions;          /* sid -> eio_session */
    deadline_list ping_due;    /* delay: ping interval */
    deadline_list pong_due;    /* delay: ping timeout */
    deadline_list upgrade_due; /* delay: upgrade timeout */
    deadline_list v3_due;      /* delay: ping interval + timeout (v3: the client pings) */
    deadline_timer timer;      /* drives the four lists above */
    uv_timer_t reaper;         /* destroys slow consumers outside of any send */
    eio_session *reap_list;
    eio_session *dirty;        /* sessions with frames to write this loop turn */
    uv_prepare_t flush_prepare;/* flushes before the loop blocks (sends made by timers) */
    uv_check_t flush_check;    /* flushes after I/O callbacks (sends made by them) */
    int open_handles;
    frame *ping_frame, *pong_probe_frame, *noop_frame, *close_frame;
    frame *pong_frame;         /* "3": the answer to a v3 client's ping */
    frame *ws_ping_frame;      /* a WebSocket ping control frame (plain clients) */
    eio_counters counters;
    int draining;
    hashmap per_ip;            /* remote address -> session count (when limited) */
    char open_json_tail[160];  /* ,"pingInterval":..} */
};

/* eio_session.c */
/* The session table, heartbeat lists and flush handles of a new server. */
int eio_sessions_init(eio_server *srv);
/* Ends every session and closes the handles (srv->open_handles counts them
 * down through on_closed). */
void eio_sessions_close(eio_server *srv, uv_close_cb on_closed);
/* Writes the open packet's JSON ("{...}") for `s` into out. */
int eio_open_packet(eio_session *s, bytebuf *out);
/* 0 when a request from `addr` may open a session; -EBUSY while draining or
 * past MAX_CONNECTIONS, -EMFILE past MAX_CONNECTIONS_PER_IP (both: 503). */
int eio_admission(eio_server *srv, const char *addr);
eio_session *eio_session_find(eio_server *srv, const char *sid);
/* A new session (sid chosen here) for the request `req`. */
eio_session *eio_session_create(eio_server *srv, const eio_transport *tp,
                                const http_request *req);
/* The handshake's revision (q->eio: 3 or 4) and b64: a v3 session's
 * heartbeat waits for the client's pings instead of sending them. */
void eio_session_set_protocol(eio_session *s, const eio_query *q);
/* 1 when a handshake may use revision `eio` (4; 3 with cfg.allow_eio3). */
int eio_protocol_allowed(const eio_server *srv, int eio);
/* A request with the sid of `s` names another revision (engine.io's
 * PROTOCOL_MISMATCH, 400 "Bad request"): a v3 session's requests must say
 * EIO=3; a v4 session's may not. */
int eio_protocol_mismatch(const eio_session *s, const eio_query *q);
void eio_session_destroy(eio_session *s, const char *reason);
/* One decoded packet from the client over the session's active transport. */
void eio_session_on_packet(eio_session *s, const eio_packet *p);
/* Queues the open packet ("0{...}"): the first thing a new session sends. */
int eio_session_send_open(eio_session *s);
void eio_session_start_probe(eio_session *s, conn *c);
/* Aborts an upgrade in progress (the probe is closed). */
void eio_session_abort_probe(eio_session *s);
/* Asks for a flush at the end of this loop turn. */
void eio_session_mark_dirty(eio_session *s);
/* The heartbeat starts over (a ping one interval from now), unless it runs. */
void eio_session_rearm_heartbeat(eio_session *s);

/* eio_request.c */
void eio_request_handler_init(eio_server *srv);

/* eio_http.c */
/* The Origin to echo ("*", the request's, or NULL for no CORS headers);
 * *refused is set when the Origin is not allowed. */
const char *eio_cors_origin(const eio_server *srv, const http_request *req, int *refused);
int eio_respond_preflight(eio_server *srv, conn *c, const http_request *req);
/* The client's address: the LAST comma-separated hop of the last
 * X-Forwarded-For line (the one the load balancer appended; earlier hops and
 * lines can be forged), else (no header, or an empty last hop) the TCP peer.
 * Trimmed of blanks, whatever the header's length. */
void eio_client_address(const http_request *req, char *out, size_t len);
/* Copies what the upper layer may want of the request into s->req. */
int eio_fill_request_info(eio_session *s, const http_request *req);
/* A complete HTTP answer with the request's CORS headers. */
int eio_respond(eio_server *srv, conn *c, const http_request *req, unsigned status,
                const char *ctype, const char *extra, const void *body, size_t len);
/* Engine.IO's JSON error {"code","message"} (400, or 403 for code 4). */
int eio_respond_error(eio_server *srv, conn *c, const http_request *req, int code);
const char *eio_error_message(int code);
/* The stickiness cookie header line for a new session ("" when off). */
void eio_cookie_header(const eio_server *srv, const char *sid, char *out, size_t len);

/* eio_polling.c */
void eio_polling_request(eio_server *srv, conn *c, const http_request *req,
                         const eio_query *q);
void eio_polling_abort(eio_server *srv, conn *c);

/* eio_websocket.c */
/* Writes one frame on a WebSocket connection now (a probe's "3probe"). */
void ws_write_frame(conn *c, frame *f);
/* What the WebSocket transport and the plain one share (s->ws carries both). */
void eio_ws_flush(eio_session *s);
int eio_ws_ready(const eio_session *s);
void eio_ws_release(eio_session *s, const char *reason);
/* Output drained after a short write: flush again (the ws_handler's on_drained). */
void eio_ws_drained(void *ctx, conn *c);
/* After a client's message: stop reading it while half its queue waits. */
void eio_ws_after_message(eio_session *s, conn *c);
/* engine.io's abortUpgrade(): the status, text/html, the bare message, close. */
void eio_ws_refuse(conn *c, unsigned status, const char *msg);
/* A new session on `tp` for an upgrade request, or NULL when draining, past
 * the limits or out of memory (the request is then refused with 503). */
eio_session *eio_ws_admit(eio_server *srv, conn *c, const http_request *req,
                          const eio_transport *tp);
void eio_websocket_request(eio_server *srv, conn *c, const http_request *req,
                           const eio_query *q);
/* The ws_options (net/ws.h) of the server's WebSocket connections: the
 * message limit and permessage-deflate. */
#define EIO_WS_OPTIONS(srv) \
    {(srv)->cfg.max_payload, (srv)->cfg.per_message_deflate, (srv)->cfg.deflate_threshold}

/* eio_plain.c */
void eio_plain_handler_init(eio_server *srv);

#endif
