/* gateway_config: the sio-server process configuration, read once from the
 * environment at start-up (the only global state of the process, and it is
 * immutable after gateway_config_load()).
 *
 * Every variable has a default; an invalid value makes gateway_config_load()
 * fail with a message naming the variable and what is wrong. Lists are
 * comma-separated; whitespace around items is ignored; empty items are errors. */
#ifndef SIO_GATEWAY_CONFIG_H
#define SIO_GATEWAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gateway_config {
    int port;                        /* PORT, 3000 */
    int api_port;                    /* API_PORT, 3001; 0 disables the API */
    char *bind_addr;                 /* BIND_ADDR, NULL = all interfaces */
    char *api_bind_addr;             /* API_BIND_ADDR, NULL = all interfaces */
    char *sio_path;                  /* SIO_PATH, "/socket.io/" (trailing slash added) */
    char *cors_origins;              /* CORS_ORIGINS, NULL (no CORS) | "*" | "a,b" */
    uint32_t ping_interval_ms;       /* PING_INTERVAL, 25000 */
    uint32_t ping_timeout_ms;        /* PING_TIMEOUT, 20000 */
    uint32_t upgrade_timeout_ms;     /* UPGRADE_TIMEOUT, 10000 */
    uint32_t connect_timeout_ms;     /* CONNECT_TIMEOUT, 45000 */
    size_t max_payload;              /* MAX_PAYLOAD, 1000000 */
    char *transports;                /* TRANSPORTS, "polling,websocket" */
    int cookie;                      /* STICKY_COOKIE, 1 (sets io=<sid>) */
    int per_message_deflate;         /* PER_MESSAGE_DEFLATE, 0 */
    size_t per_message_deflate_threshold; /* PER_MESSAGE_DEFLATE_THRESHOLD, 1024 */
    int http_compression;            /* HTTP_COMPRESSION, 1 (polling responses) */
    size_t http_compression_threshold; /* HTTP_COMPRESSION_THRESHOLD, 1024 */
    char *parser;                    /* PARSER, "default" | "msgpack" | "auto" */
    int allow_eio3;                  /* ALLOW_EIO3, 0 */
    char *plain_ws_path;             /* PLAIN_WS_PATH, NULL = no plain WebSocket endpoint */
    char *plain_ws_namespace;        /* PLAIN_WS_NAMESPACE, "/" (matches NAMESPACES) */
    char *plain_ws_event_field;      /* PLAIN_WS_EVENT_FIELD, "event" */
    char *plain_ws_data_field;       /* PLAIN_WS_DATA_FIELD, "data" */
    char *plain_ws_id_field;         /* PLAIN_WS_ID_FIELD, "id" */
    char *plain_ws_binary_event;     /* PLAIN_WS_BINARY_EVENT, "binary" */
    char **namespaces;               /* NAMESPACES, {"/"}; items start with '/'; may hold '*' */
    char **subscribe_patterns;       /* SUBSCRIBE_PATTERNS, {"*"} */
    char **publish_patterns;         /* PUBLISH_PATTERNS, {} (nobody may publish) */
    char *jwt_secret;                /* JWT_SECRET, HS256 */
    char *jwt_public_key_file;       /* JWT_PUBLIC_KEY_FILE, RS256 (exclusive with JWT_SECRET) */
    char *jwt_public_key;            /* JWT_PUBLIC_KEY, RS256 PEM text (exclusive with both above) */
    char *api_token;                 /* API_TOKEN, NULL = API open (bind it privately!) */
    size_t api_max_body;             /* API_MAX_BODY, 1048576 */
    uint32_t api_request_timeout_ms; /* API_REQUEST_TIMEOUT_MS, 5000 (the Node adapter's requestsTimeout) */
    char *redis_url;                 /* REDIS_URL, NULL = standalone */
    char *redis_prefix;              /* REDIS_PREFIX, "socket.io" */
    char *redis_tls_ca_file;         /* REDIS_TLS_CA_FILE */
    char *redis_tls_sni;             /* REDIS_TLS_SNI, default: the URL's host */
    char *redis_subscribe_mode;      /* REDIS_SUBSCRIBE_MODE, "rooms" | "pattern" */
    char *redis_adapter;             /* REDIS_ADAPTER, "pubsub" | "sharded" | "streams" */
    char *redis_sharded_mode;        /* REDIS_SHARDED_SUBSCRIPTION_MODE, "dynamic" | "static" | "dynamic-private" */
    int redis_cluster;               /* REDIS_CLUSTER, 0 */
    char *redis_cluster_seeds;       /* REDIS_CLUSTER_SEEDS, "host:port,..." */
    int recovery_unavailable;        /* computed: RECOVERY_WINDOW_MS was set to 0 (sharded) */
    uint32_t redis_stream_maxlen;    /* REDIS_STREAM_MAXLEN, 10000 */
    uint32_t redis_buffer_max_messages; /* REDIS_BUFFER_MAX_MESSAGES, 10000 */
    size_t redis_buffer_max_bytes;   /* REDIS_BUFFER_MAX_BYTES, 16777216 */
    int health_redis_down_status;    /* HEALTH_REDIS_DOWN_STATUS, 200 (/health on both ports) */
    uint32_t drain_seconds;          /* DRAIN_SECONDS, 30 */
    uint32_t max_connections;        /* MAX_CONNECTIONS, 0 = unlimited */
    uint32_t max_connections_per_ip; /* MAX_CONNECTIONS_PER_IP, 0 = unlimited */
    uint32_t max_queue_frames;       /* MAX_QUEUE_FRAMES, 4096 (per connection) */
    size_t max_queue_bytes;          /* MAX_QUEUE_BYTES, 4194304 (per connection) */
    uint32_t mailbox_max_messages;   /* MAILBOX_MAX_MESSAGES, 65536 (each thread's inbox) */
    size_t mailbox_max_bytes;        /* MAILBOX_MAX_BYTES, 67108864 */
    uint32_t max_rooms_per_socket;   /* MAX_ROOMS_PER_SOCKET, 1000 (client subscriptions) */
    double event_rate;               /* EVENT_RATE, 0 = unlimited (packets/s per connection) */
    uint32_t event_burst;            /* EVENT_BURST, 0 = same as EVENT_RATE */
    uint32_t recovery_window_ms;     /* RECOVERY_WINDOW_MS, 120000; 0 = recovery off */
    uint32_t recovery_max_packets;   /* RECOVERY_MAX_PACKETS, 150000 (in-memory history) */
    size_t recovery_max_bytes;       /* RECOVERY_MAX_BYTES, 67108864 */
    char *connect_proxy_url;         /* CONNECT_PROXY_URL, NULL = none */
    char *connect_proxy_fail;        /* CONNECT_PROXY_FAIL, "closed" | "open" */
    char *event_proxy_url;           /* EVENT_PROXY_URL, NULL = none */
    char *event_stream;              /* EVENT_STREAM, NULL = none (needs REDIS_URL) */
    uint32_t event_stream_maxlen;    /* EVENT_STREAM_MAXLEN, 100000 */
    char **proxy_events;             /* PROXY_EVENTS, {"*"} */
    int proxy_lifecycle;             /* PROXY_LIFECYCLE, 0 */
    char **proxy_headers;            /* PROXY_HEADERS, cookie,authorization,origin,user-agent,x-forwarded-for */
    uint32_t proxy_timeout_ms;       /* PROXY_TIMEOUT_MS, 5000 */
    uint32_t proxy_max_inflight;     /* PROXY_MAX_INFLIGHT, 256 */
    uint32_t proxy_max_queued;       /* PROXY_MAX_QUEUED, 10000 */
    uint32_t proxy_socket_concurrency; /* PROXY_SOCKET_CONCURRENCY, 1 */
    uint32_t proxy_socket_queue;     /* PROXY_SOCKET_QUEUE, 64 */
    size_t proxy_max_response_bytes; /* PROXY_MAX_RESPONSE_BYTES, 1048576 */
    char *proxy_tls_ca_file;         /* PROXY_TLS_CA_FILE */
    int metrics_emf;                 /* METRICS_EMF, 0 */
    uint32_t metrics_emf_interval_ms;/* METRICS_EMF_INTERVAL_MS, 60000 */
    char *metrics_emf_namespace;     /* METRICS_EMF_NAMESPACE, "sio" */
    char *metrics_emf_cluster;       /* METRICS_EMF_CLUSTER_NAME, "default" */
    char *metrics_emf_service;       /* METRICS_EMF_SERVICE_NAME, "sio" */
    int ecs_drain;                   /* ECS_DRAIN, 1 (only with ECS_CONTAINER_METADATA_URI_V4) */
    uint32_t ecs_metadata_poll_ms;   /* ECS_METADATA_POLL_MS, 1000 */
    char *log_level;                 /* LOG_LEVEL, "info": debug|info|warn|error */
    char *node_id;                   /* NODE_ID, default: hostname-pid */
} gateway_config;

/* Reads `getenv_fn(name)` for every variable (pass getenv; tests pass their own).
 * Returns 0, or -1 with a message in err (e.g. "PING_INTERVAL: not a positive
 * integer: 'abc'"). On failure nothing needs freeing. */
int gateway_config_load(gateway_config *c, const char *(*getenv_fn)(const char *name),
                        char *err, size_t err_len);
void gateway_config_free(gateway_config *c);
/* The table printed by `sio-server --help`: every variable, default, meaning. */
void gateway_config_print_help(FILE *out);

#endif
