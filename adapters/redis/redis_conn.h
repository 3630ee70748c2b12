/* redis_conn: one Redis connection on the cluster thread's libevent loop.
 *
 * Transport: a libevent bufferevent, plain TCP or TLS (bufferevent_openssl, with
 * a CA file and SNI), so one code path serves both (Debian's hiredis 0.14 has no
 * TLS). RESP is parsed with hiredis's redisReader and commands are formatted with
 * redisFormatCommandArgv: nothing of RESP is hand-written.
 *
 * Lifecycle: the connection (re)connects by itself with exponential backoff and
 * jitter (100 ms doubling to 5 s, +/-20%). After TCP/TLS is up it sends AUTH
 * (user/password when given) and SELECT (db != 0); when those succeed it calls
 * on_up, where the owner (re)issues its subscriptions. It calls on_down once per
 * loss (EOF, I/O or TLS error, a READONLY or LOADING error reply, or no reply to
 * a keepalive PING within ping_timeout_ms); callbacks of commands in flight then
 * get a NULL reply. Commands issued while down fail at once (returns -1).
 *
 * Replies: a command's callback gets its reply in order. In subscriber mode
 * (redis_conn_set_subscriber), every reply except the keepalive's pong goes to
 * on_push instead (message, pmessage, smessage, subscribe confirmations...).
 * Reply objects are freed after the callback returns. */
#ifndef SIO_REDIS_CONN_H
#define SIO_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

typedef struct redis_endpoint {
    char *host;
    int port;          /* 6379 */
    char *user;        /* NULL */
    char *password;    /* NULL */
    int db;            /* 0 */
    int tls;           /* rediss:// */
    char *ca_file;     /* NULL: system default paths */
    char *sni;         /* NULL: host */
} redis_endpoint;

/* redis[s]://[[user]:password@]host[:port][/db] (user and password are
 * percent-decoded; IPv6 hosts in brackets). 0, or -1 with a message in err. */
int redis_url_parse(const char *url, redis_endpoint *out, char *err, size_t err_len);
void redis_endpoint_free(redis_endpoint *e);

typedef struct redis_conn redis_conn;

typedef void (*redis_reply_fn)(redis_conn *c, redisReply *reply, void *ud);

typedef struct redis_conn_callbacks {
    void (*on_up)(redis_conn *c, void *ctx);
    void (*on_down)(redis_conn *c, const char *why, void *ctx);
    void (*on_push)(redis_conn *c, redisReply *msg, void *ctx);
    void *ctx;
} redis_conn_callbacks;

typedef struct redis_conn_stats {
    uint64_t connects;       /* successful (re)connections */
    uint64_t disconnects;
    uint64_t commands;
    uint64_t replies;
    uint64_t protocol_errors;
} redis_conn_stats;

/* Copies the endpoint. `name` labels log lines ("sub", "pub"). Starts
 * connecting at once. ping_interval_ms 0 = 1000, ping_timeout_ms 0 = 3000. */
redis_conn *redis_conn_new(struct event_base *base, const redis_endpoint *ep,
                           const redis_conn_callbacks *cb, const char *name,
                           uint32_t ping_interval_ms, uint32_t ping_timeout_ms);
void redis_conn_set_subscriber(redis_conn *c, int on);
/* 0 queued, -1 when the connection is not up. fn may be NULL. */
int redis_conn_command(redis_conn *c, redis_reply_fn fn, void *ud, int argc, const char **argv,
                       const size_t *argvlen);
int redis_conn_is_up(const redis_conn *c);
const redis_conn_stats *redis_conn_get_stats(const redis_conn *c);
/* Commands sent and not answered yet (keepalive pings included). */
size_t redis_conn_inflight(const redis_conn *c);
/* Bytes written but not yet sent: the owner's backpressure signal. */
size_t redis_conn_pending_bytes(const redis_conn *c);
/* Points the connection at another node (a cluster's new owner): when it
 * differs, the current connection is dropped as a loss (on_down, in-flight
 * callbacks get NULL) and the new node is dialled at once. 0, or -1 (memory). */
int redis_conn_retarget(redis_conn *c, const char *host, int port);
/* Closes at once (in-flight callbacks get NULL) and frees. */
void redis_conn_free(redis_conn *c);

#endif
