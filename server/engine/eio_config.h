/* eio_config: Engine.IO server options, with the defaults of npm engine.io 6.x
 * (plus sio's own bounds on send queues). Plain data, owned by whoever embeds it. */
#ifndef SIO_EIO_CONFIG_H
#define SIO_EIO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define EIO_TRANSPORT_POLLING 1u
#define EIO_TRANSPORT_WEBSOCKET 2u

typedef struct eio_config {
    const char *path;            /* "/engine.io/" */
    uint32_t ping_interval_ms;   /* 25000 */
    uint32_t ping_timeout_ms;    /* 20000 */
    uint32_t upgrade_timeout_ms; /* 10000 */
    size_t max_payload;          /* 1000000 (maxHttpBufferSize) */
    unsigned transports;         /* EIO_TRANSPORT_* bits; both */
    int allow_upgrades;          /* 1 */
    /* CORS: NULL = no CORS headers; "*" = any origin; else a comma-separated
     * list of origins that are echoed with Allow-Credentials (others get 403). */
    const char *cors_origins;
    const char *cookie_name;     /* NULL = no cookie; "io" for ALB stickiness */
    uint32_t max_queue_frames;   /* per-session send queue bound: 4096 */
    size_t max_queue_bytes;      /* 4 MiB */
    uint32_t max_sessions;       /* 0: unlimited; handshakes beyond get 503 */
    uint32_t max_sessions_per_ip;/* 0: unlimited; by remote address (see eio_request_info) */
} eio_config;

void eio_config_defaults(eio_config *c);

#endif
