/* api_sockets: what the socket-management requests of the HTTP API select
 * (pure: no I/O). api_sockets_parse_body() reads the JSON body of
 * POST /v1/sockets/{join,leave,disconnect}; api_sockets_parse_query() the
 * query string of GET /v1/sockets and /v1/rooms. Both fill *out with
 * pointers borrowed from their input (valid while it lives) and return NULL
 * or a short static reason for the 400 answer. `namespace` is required. */
#ifndef SIO_API_SOCKETS_H
#define SIO_API_SOCKETS_H

#include <stddef.h>

#include <jansson.h>

#include "api_broadcast.h"

struct api_selection {
    const char *nsp;
    const char *rooms[API_MAX_ROOMS];   /* the union selected (none: every socket) */
    size_t n_rooms;
    const char *except[API_MAX_ROOMS];  /* minus the sockets in any of these */
    size_t n_except;
    const char *targets[API_MAX_ROOMS]; /* join / leave: the rooms to join or leave */
    size_t n_targets;
    int close;                          /* disconnect: close the underlying connection */
};
typedef struct api_selection api_selection;

/* kind: CLUSTER_REQ_JOIN / _LEAVE (targets required) or _DISCONNECT (close). */
const char *api_sockets_parse_body(json_t *body, int kind, const char *const *namespaces,
                                   api_selection *out);
/* `query` as split by the caller: n pairs of key and value (decoded); keys
 * namespace (once), room and except (repeated; rooms only when `with_rooms`). */
const char *api_sockets_parse_query(const char *const *keys, const char *const *values, size_t n,
                                    int with_rooms, const char *const *namespaces,
                                    api_selection *out);

#endif
