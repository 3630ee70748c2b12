/* edge_lws: everything of libwebsockets the edge uses, behind plain types, so
 * that one file includes libwebsockets.h (its enum http_status collides with
 * http_parser.h's, and nothing else needs to know lws's types).
 *
 * The context runs on the caller's libuv loop and accepts every connection
 * as a raw socket; its events go to the edge_lws_events given, with the
 * per-connection storage of `conn_size` bytes that lws allocates, zeroed,
 * for each. */
#ifndef SIO_NET_EDGE_LWS_H
#define SIO_NET_EDGE_LWS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct lws;
typedef struct edge_lws edge_lws;

typedef struct edge_lws_events {
    void *ctx;
    void (*adopt)(void *ctx, void *storage, struct lws *wsi);
    int (*readable)(void *storage, uint8_t *p, size_t n); /* -1: close */
    void (*writable)(void *storage);
    void (*closed)(void *storage); /* storage NULL: closed before adoption */
} edge_lws_events;

edge_lws *edge_lws_new(uv_loop_t *loop, const char *iface, int port, unsigned max_connections,
                       size_t conn_size, const edge_lws_events *ev);
int edge_lws_port(const edge_lws *l);
/* Closes every connection (their close events run), then frees. */
void edge_lws_destroy(edge_lws *l);

/* Writes now, keeping what the socket does not take: 0, or -1 failed. */
int edge_lws_write(struct lws *wsi, const void *p, size_t n);
int edge_lws_buffered(struct lws *wsi);
int edge_lws_fd(struct lws *wsi);
/* Closes the connection now: its close event runs inside this call, which
 * must not be made from inside one of the connection's own events. */
void edge_lws_kill_now(struct lws *wsi);
void edge_lws_peer(struct lws *wsi, char *out, size_t len);
/* Stops (0) or restarts (1) polling the socket for input. */
void edge_lws_read_enable(struct lws *wsi, int on);
/* libwebsockets' own log lines (errors and warnings) go to `emit`. */
void edge_lws_set_log(void (*emit)(int level, const char *line));

#endif
