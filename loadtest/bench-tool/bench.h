/* bench.h: the run configuration of sio-bench (what the command line says),
 * target URLs, room naming, and small helpers shared by every file. */
#ifndef SIO_BENCH_H
#define SIO_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define BENCH_MAX_URLS 64
#define BENCH_MAX_ROOMS_PER_CLIENT 128 /* more than one subscribe takes: sent in requests of */
#define BENCH_ROOMS_PER_REQUEST 64     /* at most this many (sio-server's bound) */
#define BENCH_FD_LIMIT 19000          /* open files a worker may use (the machine allows 20,000) */
#define BENCH_ERR_LEN 160
#define BENCH_MAX_SIZE (1u << 20)   /* largest --size: a delivered packet of 1 MiB */

typedef enum { TRANSPORT_WEBSOCKET = 0, TRANSPORT_POLLING = 1 } bench_transport;
typedef enum { DIST_ONE = 0, DIST_K = 1, DIST_HOT = 2 } bench_dist;

typedef struct bench_url {
    char text[512];     /* as given */
    char host[256];
    char port[8];
    char path[512];     /* always ends with '/' */
    char hostport[300]; /* the Host header */
    struct sockaddr_storage addr;
    socklen_t addrlen;
} bench_url;

typedef struct bench_config {
    bench_url urls[BENCH_MAX_URLS];
    size_t n_urls;
    bench_transport transport;
    const char *plain_path;     /* plain WebSocket clients at this path (+ query); NULL = Socket.IO */
    uint32_t connections;
    uint32_t workers;
    const char *nsp;            /* "/" by default */
    const char *token;          /* CONNECT auth {"token":...}; NULL = no auth payload */
    uint32_t rooms;             /* 0 = no subscriptions */
    bench_dist dist;
    uint32_t dist_arg;          /* K for k:K, H for hot:H */
    const char *room_prefix;    /* "room-" */
    double rate;                /* broadcasts/s; 0 = do not publish */
    uint32_t size;              /* pad each broadcast so the delivered packet is about this many
                                   bytes (0 = no pad) */
    double duration;            /* s of publishing (or of holding the connections) */
    const char *api_url;        /* http://HOST:PORT (broadcast API) */
    const char *api_token;
    uint32_t api_conns;         /* parallel keep-alive connections to the API */
    const char *redis_url;      /* publish straight to Redis instead of the API */
    const char *redis_prefix;   /* "socket.io" */
    double connect_rate;        /* new connections/s over all workers; 0 = as fast as possible */
    uint32_t inflight;          /* handshakes in progress at once, per worker */
    double ramp_timeout;        /* s allowed for connecting and subscribing */
    double drain;               /* s to wait for late deliveries after the last publish */
    uint64_t seed;
    int quiet;                  /* no progress lines on stderr */
    int self_test;              /* built-in frame source instead of a server */
    uint32_t batch;             /* self-test: events per write of the source */
    /* Protocol options (issue 18's costs): */
    int deflate;                /* --deflate: offer WebSocket permessage-deflate, inflate what comes */
    const char *accept_encoding; /* --accept-encoding: polling GETs ask for gzip/deflate */
    int msgpack;                /* --parser msgpack: socket.io-msgpack-parser packets */
    uint32_t eio;               /* --eio 3|4 (3: socket.io-client 2.x, WebSocket only) */
} bench_config;

/* Parses argv into cfg. Returns 0, or -1 with a message in err (usage error),
 * or 1 when --help was asked. Resolves nothing. */
int bench_parse_args(int argc, char **argv, bench_config *cfg, char *err, size_t errlen);
void bench_usage(FILE *to);
/* Parses a ws:// or http:// URL (no resolution). */
int bench_url_parse(const char *text, bench_url *u, char *err, size_t errlen);
/* Resolves u->host:u->port into u->addr. */
int bench_url_resolve(bench_url *u, char *err, size_t errlen);

/* The rooms (0-based indexes) client `client` joins; returns how many (<= max). */
size_t bench_rooms_of(const bench_config *cfg, uint32_t client, uint32_t *out, size_t max);
/* Writes the name of room `room` (0-based index -> prefix + (index + 1)). */
int bench_room_name(const bench_config *cfg, uint32_t room, char *out, size_t n);
/* Reads a room name back into its index; -1 when it is not one of ours. */
int64_t bench_room_index(const bench_config *cfg, const char *name, size_t len);

/* Wall clock in microseconds (CLOCK_REALTIME: comparable across processes). */
uint64_t bench_now_us(void);
/* CPU time of this process (user + system), microseconds. */
uint64_t bench_cpu_us(void);

/* A small fast PRNG (splitmix64), for room choice and WebSocket masks. */
uint64_t bench_rand(uint64_t *state);

#endif
