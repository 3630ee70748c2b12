/* floor.h: sio-floor, the machine's floor of loadtest/bench (README.md). One
 * thread, one level-triggered epoll loop. Clients (sio-bench) open Engine.IO v4
 * sessions over WebSocket or long-polling, CONNECT to "/" and subscribe to
 * rooms; every broadcast that arrives from Redis is decoded, turned once into a
 * Socket.IO packet and its WebSocket frame (floor_frame), and written to every
 * member socket: with one write() per member (--mode write), or queued per
 * socket and written with one writev() per socket at the end of the epoll turn
 * (--mode writev).
 *
 * The contract between the files:
 *   floor_main.c   arguments, limits, signals, the epoll loop, accept
 *   floor_conn.c   a connection's life: new, reading into the shared input
 *                  buffer (a private copy only of what is left unparsed), free
 *   floor_http.c   HTTP/1.1 requests: routing to the upgrade or to polling, responses
 *   floor_ws.c     the WebSocket upgrade and the frames of client input
 *   floor_poll.c   long-polling sessions: pending packets, held GETs, expiry
 *   floor_sio.c    the Engine.IO / Socket.IO packets of a socket (open, CONNECT,
 *                  subscribe, pong), and unique ids
 *   floor_out.c    output: write/writev, short writes, the writev queues,
 *                  frames, the end of a turn (flushes, then the deferred frees)
 *   floor_rooms.c  the string hash map, rooms and their member arrays, the
 *                  delivery loop of one broadcast
 *   floor_redis.c  the Redis connection (PSUBSCRIBE, RESP by hiredis's
 *                  redisReader) and the msgpack decoding of a broadcast
 *   floor_json.c   msgpack_object -> JSON text
 *
 * Lifetime rule: a connection is never freed while the turn runs. conn_kill()
 * marks it dead (it gets nothing more, its events are ignored) and out_end_turn()
 * frees it after the flushes; so room member arrays never change under a
 * delivery loop and an epoll event never points at freed memory. */
#ifndef SIO_FLOOR_H
#define SIO_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define FLOOR_IN_MAX (64u * 1024)          /* a connection's unparsed input, at most */
#define FLOOR_OUT_MAX (4u * 1024 * 1024)   /* a socket's unwritten output, at most; then it is closed */
#define FLOOR_QUEUE_MAX 64                 /* writev mode: frames queued per socket before a flush */
#define FLOOR_ROOMS_MAX 200                /* rooms per socket (n_rooms is 8 bits) */
#define FLOOR_ROOM_NAME_MAX 255
#define FLOOR_SID_LEN 20
#define FLOOR_WS_HEAD_MAX 10               /* a server frame header: 2 + 8 length bytes */
#define FLOOR_PARTS_MAX 8                  /* pieces of one packet (sio_send and below) */

typedef enum { MODE_WRITE = 0, MODE_WRITEV = 1 } floor_mode;

typedef enum {
    K_HTTP = 0, /* an HTTP/1.1 connection: upgrade requests, polling GETs and POSTs */
    K_WS,       /* a WebSocket: an Engine.IO socket */
    K_SESSION,  /* a polling session: an Engine.IO socket without a fd of its own */
} floor_kind;

enum {
    F_DEAD = 1,        /* conn_kill()ed: freed at the end of the turn */
    F_JOINED = 2,      /* CONNECTed to "/": a member of F.all */
    F_WANT_OUT = 4,    /* registered for EPOLLOUT */
    F_TOUCHED = 8,     /* on F.touched: to be flushed at the end of the turn */
    F_CLOSE_AFTER = 16 /* closed once its output is written */
};

/* A growable byte buffer (one allocation). */
typedef struct floor_buf {
    size_t len, cap;
    char data[];
} floor_buf;

/* An intrusive node of a string-keyed hash map (chained). */
typedef struct floor_node {
    struct floor_node *next;
    uint64_t hash;
    const char *key;
    size_t klen;
} floor_node;

typedef struct floor_map {
    floor_node **buckets;
    size_t n_buckets, count;
} floor_map;

typedef struct floor_conn floor_conn;
typedef struct floor_session floor_session;

typedef struct floor_room {
    floor_node node;
    floor_conn **members;
    uint32_t n, cap;
    char name[];
} floor_room;

/* One room of a socket, and the socket's index in that room's member array. */
typedef struct floor_member {
    floor_room *room;
    uint32_t index;
} floor_member;

struct floor_conn {
    int fd;                  /* -1 for a polling session */
    uint8_t kind, flags, n_rooms, cap_rooms;
    uint32_t mark;           /* the last broadcast it was given (once per broadcast) */
    uint32_t slot;           /* writev mode: its queue in F.slots, + 1; 0 = none this turn */
    uint32_t all_index;      /* its index in F.all while F_JOINED */
    floor_member *rooms;
    floor_buf *in;           /* unparsed input (only while some is left) */
    floor_buf *out;          /* what the socket did not take yet (only while some is left) */
    floor_conn *touched_next, *dead_next;
    floor_session *sess;     /* K_SESSION: its session; K_HTTP: the session whose GET it holds */
};

struct floor_session {
    floor_node node;         /* in F.sessions, by sid */
    char sid[FLOOR_SID_LEN + 1];
    floor_conn *sock;        /* the K_SESSION conn: the room member */
    floor_conn *held;        /* the connection of the GET waiting for packets */
    floor_buf *pending;      /* packets for the next GET, \x1e-separated (kept allocated) */
    uint64_t held_ms, seen_ms;
};

/* A broadcast, built once: the packet text at data + FLOOR_WS_HEAD_MAX
 * (pkt_len bytes), its WebSocket frame at data + ws_off (ws_len bytes: the
 * header right before the packet). Reference counted: a writev queue holds one
 * reference per queued copy. */
typedef struct floor_frame {
    uint32_t refs;
    uint32_t ws_off, ws_len, pkt_len;
    char data[];
} floor_frame;

typedef struct floor_slot {
    uint32_t n;
    floor_frame *fr[FLOOR_QUEUE_MAX];
} floor_slot;

/* The process's state (floor_main.c). */
typedef struct floor_state {
    int epfd;
    floor_mode mode;
    const char *prefix;
    uint64_t now_ms;         /* CLOCK_MONOTONIC, refreshed every turn */
    uint32_t bcast;          /* broadcasts so far: the delivery mark */
    floor_map rooms;         /* name -> floor_room */
    floor_map sessions;      /* sid -> floor_session */
    floor_room all;          /* every socket CONNECTed to "/" (a broadcast without rooms) */
    floor_conn *touched, *dead;
    floor_slot *slots;       /* writev queues in use this turn: [0, n_slots) */
    uint32_t n_slots, cap_slots;
    uint64_t n_conns, n_broadcasts, n_deliveries, n_skipped;
} floor_state;

extern floor_state F;

/* ---- floor_conn.c ---- */
/* A new connection on an accepted, non-blocking fd (registered for EPOLLIN); NULL on failure. */
floor_conn *conn_new(int fd);
/* A socket without a fd (a polling session). */
floor_conn *conn_new_session(floor_session *s);
/* Reads what the socket has and hands it to the HTTP or WebSocket parser. */
void conn_on_readable(floor_conn *c);
/* Releases everything (the end of the turn calls it for the dead). */
void conn_free(floor_conn *c);

/* ---- floor_http.c ---- */
/* Parses (at most) one request from p; returns the bytes it took, 0 when it is
 * incomplete, -1 to close the connection. */
ssize_t http_on_input(floor_conn *c, char *p, size_t n);
/* Writes a response with a Content-Length; close: "Connection: close", then closes. */
void http_respond(floor_conn *c, int status, const char *ctype, const struct iovec *body, int n_body,
                  int close);

/* ---- floor_ws.c ---- */
/* Answers the upgrade (101) and sends the Engine.IO open packet. */
void ws_upgrade(floor_conn *c, const char *key, size_t key_len);
/* Parses (at most) one client frame; returns as http_on_input does. */
ssize_t ws_on_input(floor_conn *c, char *p, size_t n);
/* Writes the header of a server text frame of len bytes into out; returns its size. */
size_t ws_head(uint8_t *out, size_t len);
/* Sends a text frame whose payload is the concatenation of parts (<= FLOOR_PARTS_MAX). */
void ws_send_text(floor_conn *c, const struct iovec *parts, int n);

/* ---- floor_poll.c ---- */
void poll_open(floor_conn *c);
void poll_get(floor_conn *c, const char *sid, size_t sid_len);
void poll_post(floor_conn *c, const char *sid, size_t sid_len, char *body, size_t len);
/* Appends one packet (the concatenation of parts) to the session's pending packets. */
void poll_send(floor_session *s, const struct iovec *parts, int n);
/* Answers the held GET with the pending packets, if both exist (end of the turn). */
void poll_flush(floor_session *s);
/* Answers GETs held for 20 s with a noop, ends sessions unpolled for 45 s. */
void poll_sweep(void);
/* The session's socket is being freed: forget the session. */
void poll_free(floor_session *s);

/* ---- floor_sio.c ---- */
/* One Engine.IO packet of socket s (K_WS or K_SESSION). Returns -1 to close it. */
int sio_on_packet(floor_conn *s, const char *p, size_t n);
/* Sends one Engine.IO packet (the concatenation of parts) to socket s. */
void sio_send(floor_conn *s, const struct iovec *parts, int n);
/* The open packet of a new Engine.IO session with that sid; returns its length. */
size_t sio_open_packet(char *out, size_t cap, const char *sid);
/* A new unique id of FLOOR_SID_LEN characters (NUL-terminated). */
void sio_new_id(char out[FLOOR_SID_LEN + 1]);

/* ---- floor_out.c ---- */
/* Marks c dead (freed at the end of the turn). */
void conn_kill(floor_conn *c);
/* Closes c once its output is written (now when there is none). */
void conn_close_after(floor_conn *c);
/* Writes now what the socket takes, keeps the rest (bounded), kills on error. */
void conn_sendv(floor_conn *c, const struct iovec *iov, int n);
/* EPOLLOUT: writes the kept output. */
void conn_on_writable(floor_conn *c);
/* Puts c on the list flushed at the end of the turn. */
void out_touch(floor_conn *c);
/* A broadcast to one member: write/queue (WebSocket) or append (polling). */
void out_deliver(floor_conn *c, floor_frame *f);
/* A frame for packet pkt (built once per broadcast); refs = 1. NULL when out of memory. */
floor_frame *frame_new(const char *pkt, size_t len);
void frame_unref(floor_frame *f);
/* The end of an epoll turn: writev queues, polling flushes, then the dead are freed. */
void out_end_turn(void);
/* Appends n bytes to *b (allocating it); -1 when it would pass max or out of memory. */
int buf_put(floor_buf **b, const void *p, size_t n, size_t max);

/* ---- floor_rooms.c ---- */
floor_node *map_get(floor_map *m, const char *key, size_t klen);
int map_put(floor_map *m, floor_node *node);
void map_del(floor_map *m, floor_node *node);
/* Joins c to the room (created when new); 0 when it already was a member; -1 on failure. */
int rooms_join(floor_conn *c, const char *name, size_t len);
/* Joins c to F.all (its CONNECT). */
int rooms_join_all(floor_conn *c);
/* Removes c from every room and from F.all (empty rooms are freed). */
void rooms_leave_all(floor_conn *c);
/* A broadcast starts: a new delivery mark. */
void rooms_begin(void);
/* The members of that room get nothing from this broadcast (its except list). */
void rooms_except(const char *name, size_t len);
/* This broadcast to the members of that room (NULL: to F.all) that did not get it yet. */
void rooms_deliver(const char *name, size_t len, floor_frame *f);

/* ---- floor_redis.c ---- */
/* Connects (blocking), authenticates, PSUBSCRIBEs <prefix>#/#*, then makes the
 * socket non-blocking. Returns its fd, or -1 with a message in err (-2 when
 * the URL or the prefix is not usable: a usage error). */
int redis_open(const char *url, const char *prefix, char *err, size_t errlen);
/* Reads and handles every complete message. Returns -1 when the connection is
 * lost or unusable (message in err). */
int redis_on_readable(int fd, char *err, size_t errlen);

/* ---- floor_json.c ---- */
struct msgpack_object;
/* Appends the JSON text of o to *b; -1 for what JSON cannot carry (binary,
 * ext, a non-string key) or out of memory. */
int json_from_msgpack(floor_buf **b, const struct msgpack_object *o);

#endif
