/* api_broadcast: the body of POST /broadcast, checked and read (pure: no I/O).
 *
 * A broadcast is a JSON object {namespace?, event, data? | args?, rooms?,
 * except?, volatile?}. api_broadcast_parse() checks one against the configured
 * namespace globs and fills *out with pointers borrowed from `req` (valid while
 * `req` lives; nothing to free). It returns NULL, or a short static reason for
 * the 400 answer. A parsed broadcast always encodes to a Socket.IO EVENT that a
 * client decodes back to the same namespace and event name. */
#ifndef SIO_API_BROADCAST_H
#define SIO_API_BROADCAST_H

#include <stddef.h>

#include <jansson.h>

#define API_MAX_ROOMS 1024          /* rooms, and except, per broadcast */
#define API_MAX_NAME_LEN (64 * 1024) /* a room or namespace name, in bytes */

typedef struct api_broadcast {
    const char *nsp;
    const char *event;
    json_t *args; /* an array of arguments after the event name, or NULL */
    json_t *data; /* the one argument, or NULL (no argument) */
    int is_volatile;
    const char *rooms[API_MAX_ROOMS];
    size_t n_rooms;
    const char *except[API_MAX_ROOMS];
    size_t n_except;
} api_broadcast;

const char *api_broadcast_parse(json_t *req, const char *const *namespaces, api_broadcast *out);

/* The checks the other API requests share (NULL, or a static reason):
 * a namespace name of `len` bytes, known to the configured globs (the wire
 * ends it at the first ',' and it may hold no NUL or pattern); the same for
 * a JSON string `v` (absent: "/"), *out borrowed from it; an optional array
 * `key` of `req` of at most API_MAX_ROOMS non-empty names (null: none),
 * pointers borrowed into out[]. */
const char *api_check_namespace(const char *const *namespaces, const char *nsp, size_t len);
const char *api_parse_namespace(const char *const *namespaces, json_t *v, const char **out);
const char *api_parse_names(json_t *req, const char *key, const char **out, size_t *n);

/* [event, ...args] or [event, data] or [event]: a new array, NULL on OOM. */
json_t *api_broadcast_packet_data(const api_broadcast *b);

#endif
