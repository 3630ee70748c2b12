/* gateway_internal: what gateway.c (auth, client events) and gateway_backend.c
 * (the application backend: connect proxy, event proxy, lifecycle, expiry)
 * share. Edge thread only. */
#ifndef SIO_GATEWAY_INTERNAL_H
#define SIO_GATEWAY_INTERNAL_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "cluster_msg.h"
#include "gateway_config.h"
#include "jwt.h"
#include "sio.h"

typedef struct gw_backend gw_backend;
typedef struct queued_event queued_event;

/* A socket named by value (namespace and id): what outlives it, a backend
 * call or a timer, finds it again, or learns it is gone. */
typedef struct socket_ref {
    char sid[32];
    char nsp[260];
} socket_ref;
void socket_ref_set(socket_ref *r, sio_socket *s);
sio_socket *socket_ref_find(sio_server *io, const socket_ref *r);

/* gateway.c: the client's token, from auth.token or "Authorization: Bearer"
 * of the handshake (borrowed), NULL when none. */
const char *gateway_bearer_token(sio_socket *s, json_t *auth, size_t *len);

/* What one socket may do and what it waits for: its JWT claims' or its
 * backend answer's lists where present, else the configured patterns
 * (borrowed from the config, never freed here). The socket's user pointer. */
typedef struct socket_perms {
    json_t *claims;              /* NULL without JWT */
    const char **subscribe;
    const char **publish;
    uint8_t own_subscribe, own_publish; /* arrays allocated for this socket */
    json_t *user;                /* the backend's "user", NULL when none */
    json_t *join;                /* rooms to join once connected (array), NULL */
    json_t *emit;                /* events to emit once connected (array), NULL */
    int64_t expires_at;          /* unix seconds, 0: never */
    uv_timer_t *expiry;          /* armed while connected with expires_at */
    const char *end_reason;      /* why the server ended it ("token expired"), NULL */
    queued_event *queue_head, *queue_tail; /* client events waiting for the backend */
    uint32_t queued, inflight;
} socket_perms;

/* A new perms with the configured patterns (NULL: out of memory). */
socket_perms *perms_new(const gateway_config *cfg);
/* The lists of a JWT's claims or a backend answer (`rooms` / `subscribe`,
 * `publish`) replace the configured ones; -1 with *why when one is not a list
 * of strings. */
int perms_take_lists(socket_perms *p, json_t *src, const char *subscribe_key, const char **why);
void perms_free(socket_perms *p);

/* gateway_backend.c */
gw_backend *gw_backend_new(uv_loop_t *loop, sio_server *io, const gateway_config *cfg,
                           const jwt_verifier *jwt);
void gw_backend_free(gw_backend *b);
/* How messages reach the cluster thread (cluster_bridge_send). */
void gw_backend_set_sender(gw_backend *b, int (*send)(void *ctx, struct cluster_msg *m), void *ctx);
/* The answers (cluster_bridge_on_backend). */
void gw_backend_on_answer(void *ctx, struct backend_msg *m);
/* The connect middleware when CONNECT_PROXY_URL is set (JWT first, when configured). */
void gw_backend_connect(sio_socket *s, json_t *auth, sio_connect_handle h, void *ud);
/* After CONNECT: joins, emits, arms the expiry, reports `connected`. */
void gw_backend_connected(gw_backend *b, sio_socket *s);
/* Before the socket goes: reports `disconnected`, drops its queue and timer. */
void gw_backend_disconnected(gw_backend *b, sio_socket *s, const char *reason);
/* A client event without a handler: 1 when handed to the backend. */
int gw_backend_event(gw_backend *b, sio_socket *s, const char *event, const sio_args *args,
                     const sio_ack_handle *ack);
/* The `refresh` event: a new token or auth, before the socket expires. */
void gw_backend_refresh(gw_backend *b, sio_socket *s, const sio_args *args,
                        const sio_ack_handle *ack);
/* The token's or answer's expiry (0: none) is armed at connect. */
void gw_backend_set_expiry(socket_perms *p, json_t *claims);

#endif
