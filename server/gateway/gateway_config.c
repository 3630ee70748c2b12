/* gateway_config: loads the sio-server configuration from environment variables.
 * One table of variable descriptors (name, kind, field, default, bounds,
 * validator, help text) drives loading, freeing and the --help table alike.
 * A default is a string parsed exactly like a value from the environment.
 * A variable set to the empty string is not "unset": lists become empty (an
 * error where at least one item is needed) and every other kind rejects it. */
#include "gateway_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glob.h"
#include "sio_packet.h"
#include "ws_frame.h"

typedef enum var_kind {
    K_INT,  /* int, min..max */
    K_U32,  /* uint32_t, min..max */
    K_SIZE, /* size_t, min..max */
    K_BOOL, /* int 0/1 */
    K_RATE, /* double >= 0, plain decimal */
    K_STR,  /* char *, non-empty, optional check */
    K_ENUM, /* char *, one of choices (stored canonically) */
    K_CSV,  /* char *, a list normalized to "a,b" */
    K_LIST, /* char **, NULL-terminated */
} var_kind;

/* Validates s; on success *out is a malloc'ed (possibly normalized) copy.
 * Returns NULL, or the reason for rejecting s. */
typedef const char *(*str_check_fn)(const char *s, char **out);
/* Returns NULL, or the reason for rejecting a list item. */
typedef const char *(*item_check_fn)(const char *item);

typedef struct var_desc {
    const char *name;
    var_kind kind;
    size_t off;          /* offset of the field in gateway_config */
    const char *def;     /* parsed when unset; NULL leaves the field NULL / 0 */
    const char *shown;   /* --help default column, when `def` does not say it */
    unsigned long min;   /* K_INT, K_U32, K_SIZE range; K_CSV, K_LIST min items */
    unsigned long max;
    int secret;          /* never echo the value in an error */
    str_check_fn check;  /* K_STR */
    item_check_fn item;  /* K_CSV, K_LIST */
    const char *const *choices; /* K_ENUM, NULL-terminated */
    const char *help;
} var_desc;

/* ---- validators ------------------------------------------------------------ */

static const char *check_path(const char *s, char **out)
{
    if (s[0] != '/')
        return "must start with '/'";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return "must not contain spaces, controls, '?' or '#'";
    size_t n = strlen(s);
    int slash = s[n - 1] == '/';
    *out = malloc(n + 2); /* room for a '/' to append */
    if (!*out)
        return "out of memory";
    memcpy(*out, s, n);
    if (!slash)
        (*out)[n++] = '/';
    (*out)[n] = '\0';
    return NULL;
}

/* An exact path for plain WebSocket clients: "/ws", no trailing slash needed. */
static const char *check_plain_path(const char *s, char **out)
{
    if (s[0] != '/' || !s[1])
        return "must start with '/' and name a path";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return "must not contain spaces, controls, '?' or '#'";
    if (strncmp(s, "/health", strlen(s)) == 0)
        return "would take /health (the health check) on PORT";
    *out = strdup(s);
    return *out ? NULL : "out of memory";
}

static const char *check_namespace(const char *s, char **out)
{
    if (s[0] != '/' || strchr(s, '*'))
        return "must start with '/' and hold no '*'";
    *out = strdup(s);
    return *out ? NULL : "out of memory";
}

static const char *check_redis_url(const char *s, char **out)
{
    size_t n = strncmp(s, "redis://", 8) == 0 ? 8 : strncmp(s, "rediss://", 9) == 0 ? 9 : 0;
    if (!n || !s[n])
        return "must start with redis:// or rediss:// and name a host";
    *out = strdup(s);
    return *out ? NULL : "out of memory";
}

static const char *check_readable_file(const char *s, char **out)
{
    FILE *f = fopen(s, "r");
    if (!f)
        return strerror(errno);
    struct stat st;
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    fclose(f);
    if (!regular)
        return "not a regular file";
    *out = strdup(s);
    return *out ? NULL : "out of memory";
}

static const char *item_namespace(const char *item)
{
    return item[0] == '/' ? NULL : "item must start with '/'";
}

static const char *item_transport(const char *item)
{
    return strcmp(item, "polling") == 0 || strcmp(item, "websocket") == 0
               ? NULL
               : "item must be polling or websocket";
}

static const char *check_http_url(const char *s, char **out)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return "must be an http:// or https:// URL";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "must not contain spaces or controls";
    *out = strdup(s);
    return *out ? NULL : "out of memory";
}

static const char *item_header(const char *item)
{
    for (const char *p = item; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return "item must be a lower-case header name";
    return NULL;
}

/* ---- the variables --------------------------------------------------------- */

static const char *const SUBSCRIBE_MODES[] = {"rooms", "pattern", NULL};
static const char *const REDIS_ADAPTERS[] = {"pubsub", "sharded", "streams", NULL};
static const char *const SHARDED_MODES[] = {"dynamic", "static", "dynamic-private", NULL};
static const char *const LOG_LEVELS[] = {"debug", "info", "warn", "error", NULL};
static const char *const FAIL_MODES[] = {"closed", "open", NULL};
static const char *const PARSERS[] = {"default", "msgpack", "auto", NULL};

#define OFF(field) offsetof(gateway_config, field)
#define MS_MAX 86400000ul

static const var_desc VARS[] = {
    {.name = "PORT", .kind = K_INT, .off = OFF(port), .def = "3000", .min = 1, .max = 65535,
     .help = "Socket.IO listening port"},
    {.name = "API_PORT", .kind = K_INT, .off = OFF(api_port), .def = "3001", .min = 0, .max = 65535,
     .help = "HTTP API port; 0 disables the API"},
    {.name = "BIND_ADDR", .kind = K_STR, .off = OFF(bind_addr), .shown = "(all interfaces)",
     .help = "address the Socket.IO port binds to"},
    {.name = "API_BIND_ADDR", .kind = K_STR, .off = OFF(api_bind_addr), .shown = "(all interfaces)",
     .help = "address the API port binds to"},
    {.name = "SIO_PATH", .kind = K_STR, .off = OFF(sio_path), .def = "/socket.io/", .check = check_path,
     .help = "HTTP path of Socket.IO (a trailing '/' is added)"},
    {.name = "CORS_ORIGINS", .kind = K_CSV, .off = OFF(cors_origins), .min = 1, .shown = "(no CORS)",
     .help = "allowed origins: '*' or a comma-separated list"},
    {.name = "PING_INTERVAL", .kind = K_U32, .off = OFF(ping_interval_ms), .def = "25000", .min = 1,
     .max = MS_MAX, .help = "Engine.IO ping interval, ms"},
    {.name = "PING_TIMEOUT", .kind = K_U32, .off = OFF(ping_timeout_ms), .def = "20000", .min = 1,
     .max = MS_MAX, .help = "Engine.IO ping timeout, ms"},
    {.name = "UPGRADE_TIMEOUT", .kind = K_U32, .off = OFF(upgrade_timeout_ms), .def = "10000",
     .min = 1, .max = MS_MAX, .help = "time allowed to complete a transport upgrade, ms"},
    {.name = "CONNECT_TIMEOUT", .kind = K_U32, .off = OFF(connect_timeout_ms), .def = "45000",
     .min = 1, .max = MS_MAX, .help = "time allowed to join a namespace, ms"},
    {.name = "MAX_PAYLOAD", .kind = K_SIZE, .off = OFF(max_payload), .def = "1000000", .min = 1,
     .max = 100000000, .help = "largest accepted message, bytes"},
    {.name = "TRANSPORTS", .kind = K_CSV, .off = OFF(transports), .def = "polling,websocket",
     .min = 1, .item = item_transport, .help = "enabled transports: polling, websocket"},
    {.name = "STICKY_COOKIE", .kind = K_BOOL, .off = OFF(cookie), .def = "true",
     .help = "set the io=<sid> cookie (load-balancer stickiness)"},
    {.name = "PER_MESSAGE_DEFLATE", .kind = K_BOOL, .off = OFF(per_message_deflate), .def = "false",
     .help = "accept WebSocket permessage-deflate (README: Compression)"},
    {.name = "PER_MESSAGE_DEFLATE_THRESHOLD", .kind = K_SIZE, .off = OFF(per_message_deflate_threshold),
     .def = "1024", .min = 0, .max = 100000000,
     .help = "smallest WebSocket message compressed, bytes"},
    {.name = "HTTP_COMPRESSION", .kind = K_BOOL, .off = OFF(http_compression), .def = "true",
     .help = "gzip/deflate long-polling responses per Accept-Encoding"},
    {.name = "HTTP_COMPRESSION_THRESHOLD", .kind = K_SIZE, .off = OFF(http_compression_threshold),
     .def = "1024", .min = 0, .max = 100000000, .help = "smallest polling response compressed, bytes"},
    {.name = "PARSER", .kind = K_ENUM, .off = OFF(parser), .def = "default", .choices = PARSERS,
     .help = "Socket.IO packets: default, msgpack (socket.io-msgpack-parser), auto (per connection)"},
    {.name = "ALLOW_EIO3", .kind = K_BOOL, .off = OFF(allow_eio3), .def = "false",
     .help = "also accept Engine.IO v3 clients (socket.io-client 2.x)"},
    {.name = "PLAIN_WS_PATH", .kind = K_STR, .off = OFF(plain_ws_path), .check = check_plain_path,
     .shown = "(off)", .help = "path of the plain WebSocket endpoint, e.g. /ws (README: Plain WebSocket clients)"},
    {.name = "PLAIN_WS_NAMESPACE", .kind = K_STR, .off = OFF(plain_ws_namespace), .def = "/",
     .check = check_namespace, .help = "the namespace plain clients are sockets of (one of NAMESPACES)"},
    {.name = "PLAIN_WS_EVENT_FIELD", .kind = K_STR, .off = OFF(plain_ws_event_field), .def = "event",
     .help = "plain messages' event field (e.g. action)"},
    {.name = "PLAIN_WS_DATA_FIELD", .kind = K_STR, .off = OFF(plain_ws_data_field), .def = "data",
     .help = "plain messages' data field"},
    {.name = "PLAIN_WS_ID_FIELD", .kind = K_STR, .off = OFF(plain_ws_id_field), .def = "id",
     .help = "plain messages' request / reply id field"},
    {.name = "PLAIN_WS_BINARY_EVENT", .kind = K_STR, .off = OFF(plain_ws_binary_event), .def = "binary",
     .help = "the event a plain client's binary message is"},
    {.name = "NAMESPACES", .kind = K_LIST, .off = OFF(namespaces), .def = "/", .min = 1,
     .item = item_namespace, .help = "allowed namespaces, each starting with '/' ('*' globs)"},
    {.name = "SUBSCRIBE_PATTERNS", .kind = K_LIST, .off = OFF(subscribe_patterns), .def = "*",
     .help = "room globs that clients may join"},
    {.name = "PUBLISH_PATTERNS", .kind = K_LIST, .off = OFF(publish_patterns), .def = "",
     .shown = "(none)", .help = "room globs that clients may publish to"},
    {.name = "JWT_SECRET", .kind = K_STR, .off = OFF(jwt_secret), .secret = 1, .shown = "(no auth)",
     .help = "HS256 secret of client tokens"},
    {.name = "JWT_PUBLIC_KEY_FILE", .kind = K_STR, .off = OFF(jwt_public_key_file),
     .check = check_readable_file, .shown = "(no auth)",
     .help = "RS256 public key or certificate PEM file (not with JWT_SECRET)"},
    {.name = "JWT_PUBLIC_KEY", .kind = K_STR, .off = OFF(jwt_public_key), .shown = "(no auth)",
     .help = "RS256 public key or certificate, the PEM text itself (e.g. from a secret)"},
    {.name = "API_TOKEN", .kind = K_STR, .off = OFF(api_token), .secret = 1, .shown = "(API open)",
     .help = "bearer token required by the HTTP API"},
    {.name = "API_MAX_BODY", .kind = K_SIZE, .off = OFF(api_max_body), .def = "1048576", .min = 1,
     .max = 1000000000, .help = "largest API request body, bytes"},
    {.name = "API_REQUEST_TIMEOUT_MS", .kind = K_U32, .off = OFF(api_request_timeout_ms), .def = "5000",
     .min = 1, .max = MS_MAX, .help = "GET /v1/sockets and /v1/rooms wait this long for the other nodes, ms"},
    {.name = "REDIS_URL", .kind = K_STR, .off = OFF(redis_url), .secret = 1,
     .check = check_redis_url, .shown = "(standalone)", .help = "redis:// or rediss:// URL"},
    {.name = "REDIS_PREFIX", .kind = K_STR, .off = OFF(redis_prefix), .def = "socket.io",
     .help = "prefix of the Redis channels"},
    {.name = "REDIS_TLS_CA_FILE", .kind = K_STR, .off = OFF(redis_tls_ca_file),
     .check = check_readable_file, .shown = "-", .help = "CA bundle PEM file for rediss://"},
    {.name = "REDIS_TLS_SNI", .kind = K_STR, .off = OFF(redis_tls_sni), .shown = "(URL host)",
     .help = "TLS server name for rediss://"},
    {.name = "REDIS_SUBSCRIBE_MODE", .kind = K_ENUM, .off = OFF(redis_subscribe_mode),
     .def = "rooms", .choices = SUBSCRIBE_MODES, .help = "Redis subscriptions: per room or one pattern"},
    {.name = "REDIS_ADAPTER", .kind = K_ENUM, .off = OFF(redis_adapter), .def = "pubsub",
     .choices = REDIS_ADAPTERS,
     .help = "pubsub or sharded (@socket.io/redis-adapter's createAdapter or createShardedAdapter), "
             "streams (@socket.io/redis-streams-adapter)"},
    {.name = "REDIS_SHARDED_SUBSCRIPTION_MODE", .kind = K_ENUM, .off = OFF(redis_sharded_mode),
     .def = "dynamic", .choices = SHARDED_MODES,
     .help = "sharded: a channel per room (dynamic: not sockets' own rooms), or none (static)"},
    {.name = "REDIS_CLUSTER", .kind = K_BOOL, .off = OFF(redis_cluster), .def = "false",
     .help = "REDIS_URL names a node of a Redis Cluster (REDIS_ADAPTER sharded or pubsub)"},
    {.name = "REDIS_CLUSTER_SEEDS", .kind = K_CSV, .off = OFF(redis_cluster_seeds), .min = 1,
     .shown = "(REDIS_URL only)", .help = "more cluster nodes to discover the slot map from: host:port,..."},
    {.name = "REDIS_STREAM_MAXLEN", .kind = K_U32, .off = OFF(redis_stream_maxlen), .def = "10000",
     .min = 1, .max = UINT32_MAX, .help = "streams: entries the stream keeps (XADD MAXLEN ~)"},
    {.name = "REDIS_BUFFER_MAX_MESSAGES", .kind = K_U32, .off = OFF(redis_buffer_max_messages),
     .def = "10000", .min = 1, .max = UINT32_MAX,
     .help = "broadcasts kept while Redis is unreachable; past it the API answers 503"},
    {.name = "REDIS_BUFFER_MAX_BYTES", .kind = K_SIZE, .off = OFF(redis_buffer_max_bytes),
     .def = "16777216", .min = 1, .max = UINT32_MAX,
     .help = "bytes of the broadcasts kept while Redis is unreachable"},
    {.name = "HEALTH_REDIS_DOWN_STATUS", .kind = K_INT, .off = OFF(health_redis_down_status),
     .def = "200", .min = 200, .max = 599, .help = "health check HTTP status while Redis is down"},
    {.name = "DRAIN_SECONDS", .kind = K_U32, .off = OFF(drain_seconds), .def = "30", .min = 0,
     .max = 3600, .help = "graceful shutdown delay, s"},
    {.name = "MAX_CONNECTIONS", .kind = K_U32, .off = OFF(max_connections), .def = "0", .min = 0,
     .max = UINT32_MAX, .help = "connection limit; 0 = unlimited"},
    {.name = "MAX_CONNECTIONS_PER_IP", .kind = K_U32, .off = OFF(max_connections_per_ip),
     .def = "0", .min = 0, .max = UINT32_MAX, .help = "connection limit per client IP; 0 = unlimited"},
    {.name = "MAX_QUEUE_FRAMES", .kind = K_U32, .off = OFF(max_queue_frames), .def = "4096",
     .min = 1, .max = UINT32_MAX, .help = "send queue bound per connection, frames"},
    {.name = "MAX_QUEUE_BYTES", .kind = K_SIZE, .off = OFF(max_queue_bytes), .def = "4194304",
     .min = 1, .max = UINT32_MAX, .help = "send queue bound per connection, bytes"},
    {.name = "MAILBOX_MAX_MESSAGES", .kind = K_U32, .off = OFF(mailbox_max_messages),
     .def = "65536", .min = 1, .max = UINT32_MAX,
     .help = "bound of each mailbox between the edge and cluster threads, messages"},
    {.name = "MAILBOX_MAX_BYTES", .kind = K_SIZE, .off = OFF(mailbox_max_bytes), .def = "67108864",
     .min = 1, .max = UINT32_MAX,
     .help = "bound of each mailbox, bytes; past either bound the API answers 503"},
    {.name = "MAX_ROOMS_PER_SOCKET", .kind = K_U32, .off = OFF(max_rooms_per_socket),
     .def = "1000", .min = 1, .max = UINT32_MAX, .help = "rooms a client may subscribe one socket to"},
    {.name = "EVENT_RATE", .kind = K_RATE, .off = OFF(event_rate), .def = "0",
     .help = "packets/s allowed per connection (events, acks, connects); 0 = unlimited"},
    {.name = "EVENT_BURST", .kind = K_U32, .off = OFF(event_burst), .def = "0", .min = 0,
     .max = UINT32_MAX, .help = "packet burst per connection; 0 = EVENT_RATE"},
    {.name = "RECOVERY_WINDOW_MS", .kind = K_U32, .off = OFF(recovery_window_ms), .def = "120000",
     .min = 0, .max = MS_MAX,
     .help = "connection state recovery: how long a session is kept, ms; 0 = off"},
    {.name = "RECOVERY_MAX_PACKETS", .kind = K_U32, .off = OFF(recovery_max_packets),
     .def = "150000", .min = 1, .max = UINT32_MAX,
     .help = "standalone: broadcasts kept in memory for recovery"},
    {.name = "RECOVERY_MAX_BYTES", .kind = K_SIZE, .off = OFF(recovery_max_bytes),
     .def = "67108864", .min = 1, .max = UINT32_MAX,
     .help = "standalone: bytes of broadcasts kept in memory for recovery"},
    {.name = "CONNECT_PROXY_URL", .kind = K_STR, .off = OFF(connect_proxy_url),
     .check = check_http_url, .shown = "(none)",
     .help = "backend that decides each namespace CONNECT (README: Backends)"},
    {.name = "CONNECT_PROXY_FAIL", .kind = K_ENUM, .off = OFF(connect_proxy_fail), .def = "closed",
     .choices = FAIL_MODES,
     .help = "backend down or slow: closed refuses (\"auth unavailable\"), open admits"},
    {.name = "EVENT_PROXY_URL", .kind = K_STR, .off = OFF(event_proxy_url), .check = check_http_url,
     .shown = "(none)", .help = "backend that client events matching PROXY_EVENTS are POSTed to"},
    {.name = "EVENT_STREAM", .kind = K_STR, .off = OFF(event_stream), .shown = "(none)",
     .help = "Redis stream that matching client events are XADDed to (instead of EVENT_PROXY_URL)"},
    {.name = "EVENT_STREAM_MAXLEN", .kind = K_U32, .off = OFF(event_stream_maxlen),
     .def = "100000", .min = 1, .max = UINT32_MAX, .help = "entries EVENT_STREAM keeps (MAXLEN ~)"},
    {.name = "PROXY_EVENTS", .kind = K_LIST, .off = OFF(proxy_events), .def = "*",
     .help = "globs of the client events handed to the backend or the stream"},
    {.name = "PROXY_LIFECYCLE", .kind = K_BOOL, .off = OFF(proxy_lifecycle), .def = "false",
     .help = "also hand over each socket's connect and disconnect (with its reason)"},
    {.name = "PROXY_HEADERS", .kind = K_LIST, .off = OFF(proxy_headers),
     .def = "cookie,authorization,origin,user-agent,x-forwarded-for", .item = item_header,
     .shown = "cookie,...", .help = "handshake headers the connect proxy is sent (default: cookie, "
                                   "authorization, origin, user-agent, x-forwarded-for)"},
    {.name = "PROXY_TIMEOUT_MS", .kind = K_U32, .off = OFF(proxy_timeout_ms), .def = "5000",
     .min = 1, .max = MS_MAX, .help = "time a backend has to answer, ms"},
    {.name = "PROXY_MAX_INFLIGHT", .kind = K_U32, .off = OFF(proxy_max_inflight), .def = "256",
     .min = 1, .max = 65536, .help = "backend requests on the wire per node; more wait"},
    {.name = "PROXY_MAX_QUEUED", .kind = K_U32, .off = OFF(proxy_max_queued), .def = "10000",
     .min = 1, .max = 1000000, .help = "backend requests waiting per node; past it they fail"},
    {.name = "PROXY_SOCKET_CONCURRENCY", .kind = K_U32, .off = OFF(proxy_socket_concurrency),
     .def = "1", .min = 1, .max = 64,
     .help = "events of one socket at the backend at once (1 keeps the backend's order)"},
    {.name = "PROXY_SOCKET_QUEUE", .kind = K_U32, .off = OFF(proxy_socket_queue), .def = "64",
     .min = 1, .max = 65536, .help = "events of one socket waiting; past it they are acked an error"},
    {.name = "PROXY_MAX_RESPONSE_BYTES", .kind = K_SIZE, .off = OFF(proxy_max_response_bytes),
     .def = "1048576", .min = 64, .max = 100000000, .help = "largest backend answer, bytes"},
    {.name = "PROXY_TLS_CA_FILE", .kind = K_STR, .off = OFF(proxy_tls_ca_file),
     .check = check_readable_file, .shown = "(system CAs)", .help = "CA bundle for https backends"},
    {.name = "METRICS_EMF", .kind = K_BOOL, .off = OFF(metrics_emf), .def = "false",
     .help = "write CloudWatch Embedded Metric Format lines to stdout (README: Metrics)"},
    {.name = "METRICS_EMF_INTERVAL_MS", .kind = K_U32, .off = OFF(metrics_emf_interval_ms), .def = "60000",
     .min = 1000, .max = MS_MAX, .help = "one EMF line every this many ms"},
    {.name = "METRICS_EMF_NAMESPACE", .kind = K_STR, .off = OFF(metrics_emf_namespace), .def = "sio",
     .help = "the CloudWatch namespace of the EMF metrics"},
    {.name = "METRICS_EMF_CLUSTER_NAME", .kind = K_STR, .off = OFF(metrics_emf_cluster), .def = "default",
     .help = "the ClusterName dimension (the ECS cluster)"},
    {.name = "METRICS_EMF_SERVICE_NAME", .kind = K_STR, .off = OFF(metrics_emf_service), .def = "sio",
     .help = "the ServiceName dimension (the ECS service)"},
    {.name = "ECS_DRAIN", .kind = K_BOOL, .off = OFF(ecs_drain), .def = "true",
     .help = "drain when the ECS task metadata says the task is stopping (ECS_CONTAINER_METADATA_URI_V4)"},
    {.name = "ECS_METADATA_POLL_MS", .kind = K_U32, .off = OFF(ecs_metadata_poll_ms), .def = "1000",
     .min = 100, .max = MS_MAX, .help = "how often the task metadata is read, ms"},
    {.name = "LOG_LEVEL", .kind = K_ENUM, .off = OFF(log_level), .def = "info",
     .choices = LOG_LEVELS, .help = "least severe level logged"},
    {.name = "NODE_ID", .kind = K_STR, .off = OFF(node_id), .shown = "<hostname>-<pid>",
     .help = "this node's id in the cluster"},
};

#define NVARS (sizeof VARS / sizeof VARS[0])

/* ---- small helpers --------------------------------------------------------- */

static void *field(gateway_config *c, const var_desc *d)
{
    return (char *)c + d->off;
}

/* Writes "msg: 'value'" (or only msg for secrets and value == NULL). Returns -1. */
static int reject(char *why, size_t n, const var_desc *d, const char *msg, const char *value)
{
    if (d->secret || !value)
        snprintf(why, n, "%s", msg);
    else
        snprintf(why, n, "%s: '%s'", msg, value);
    return -1;
}

static void free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

static char *trimmed_copy(const char *a, const char *b)
{
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    return strndup(a, (size_t)(b - a));
}

static int is_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* ---- parsers, one per kind ------------------------------------------------- */

/* Digits only (no sign, no space), fully consumed, within d's range. */
static int parse_uint(const var_desc *d, const char *s, unsigned long *out, char *why, size_t n)
{
    char msg[64];
    char *end;
    errno = 0;
    unsigned long x = isdigit((unsigned char)s[0]) ? strtoul(s, &end, 10) : 0;
    if (!isdigit((unsigned char)s[0]) || *end || errno == ERANGE)
        return reject(why, n, d, d->min ? "not a positive integer" : "not an integer", s);
    if (x < d->min || x > d->max) {
        snprintf(msg, sizeof msg, "out of range %lu..%lu", d->min, d->max);
        return reject(why, n, d, msg, s);
    }
    *out = x;
    return 0;
}

static int parse_bool(const var_desc *d, const char *s, int *out, char *why, size_t n)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return reject(why, n, d, "not a boolean (1/0/true/false/yes/no/on/off)", s);
}

/* A plain non-negative decimal: digits, optionally '.' and more digits. */
static int parse_rate(const var_desc *d, const char *s, double *out, char *why, size_t n)
{
    size_t i = strspn(s, "0123456789");
    int ok = i > 0;
    if (ok && s[i] == '.') {
        size_t frac = strspn(s + i + 1, "0123456789");
        ok = frac > 0;
        i += 1 + frac;
    }
    double x = ok && !s[i] ? strtod(s, NULL) : -1;
    if (!(x >= 0) || !isfinite(x))
        return reject(why, n, d, "not a non-negative decimal number", s);
    *out = x;
    return 0;
}

/* "a|b|c" from d->choices, truncated to fit. */
static void join_choices(const var_desc *d, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *c = d->choices; *c && used < n; c++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", c == d->choices ? "" : "|", *c);
}

static int parse_enum(const var_desc *d, const char *s, char **out, char *why, size_t n)
{
    char choices[80], msg[96];
    for (const char *const *c = d->choices; *c; c++) {
        if (strcasecmp(s, *c) == 0) {
            *out = strdup(*c);
            return *out ? 0 : reject(why, n, d, "out of memory", NULL);
        }
    }
    join_choices(d, choices, sizeof choices);
    snprintf(msg, sizeof msg, "must be one of %s", choices);
    return reject(why, n, d, msg, s);
}

static int parse_str(const var_desc *d, const char *s, char **out, char *why, size_t n)
{
    if (!*s)
        return reject(why, n, d, "empty value (unset the variable instead)", NULL);
    const char *bad = NULL;
    if (d->check)
        bad = d->check(s, out);
    else if (!(*out = strdup(s)))
        bad = "out of memory";
    return bad ? reject(why, n, d, bad, s) : 0;
}

/* Comma-separated items, trimmed and checked; a blank value is the empty list. */
static int parse_list(const var_desc *d, const char *s, char ***out, char *why, size_t n)
{
    size_t count = 0;
    if (!is_blank(s)) {
        count = 1;
        for (const char *p = s; *p; p++)
            count += *p == ',';
    }
    if (count < d->min)
        return reject(why, n, d, "needs at least one item", s);
    char **list = calloc(count + 1, sizeof *list);
    if (!list)
        return reject(why, n, d, "out of memory", NULL);
    const char *p = s;
    for (size_t i = 0; i < count; i++) {
        const char *q = strchr(p, ',');
        q = q ? q : p + strlen(p);
        const char *bad = !(list[i] = trimmed_copy(p, q)) ? "out of memory"
                          : !list[i][0]                    ? "empty item"
                          : d->item                        ? d->item(list[i])
                                                           : NULL;
        if (bad) {
            reject(why, n, d, bad, list[i] && list[i][0] ? list[i] : s);
            free_list(list);
            return -1;
        }
        p = q + 1;
    }
    *out = list;
    return 0;
}

/* A list joined back as "a,b" (items trimmed). */
static int parse_csv(const var_desc *d, const char *s, char **out, char *why, size_t n)
{
    char **list;
    if (parse_list(d, s, &list, why, n) < 0)
        return -1;
    size_t len = 1;
    for (char **p = list; *p; p++)
        len += strlen(*p) + 1;
    char *joined = malloc(len);
    if (joined) {
        joined[0] = '\0';
        for (char **p = list; *p; p++)
            strcat(strcat(joined, p == list ? "" : ","), *p);
    }
    free_list(list);
    *out = joined;
    return joined ? 0 : reject(why, n, d, "out of memory", NULL);
}

static int parse_var(gateway_config *c, const var_desc *d, const char *s, char *why, size_t n)
{
    unsigned long x = 0;
    void *f = field(c, d);
    switch (d->kind) {
    case K_INT:
    case K_U32:
    case K_SIZE:
        if (parse_uint(d, s, &x, why, n) < 0)
            return -1;
        if (d->kind == K_INT)
            *(int *)f = (int)x;
        else if (d->kind == K_U32)
            *(uint32_t *)f = (uint32_t)x;
        else
            *(size_t *)f = (size_t)x;
        return 0;
    case K_BOOL:
        return parse_bool(d, s, f, why, n);
    case K_RATE:
        return parse_rate(d, s, f, why, n);
    case K_STR:
        return parse_str(d, s, f, why, n);
    case K_ENUM:
        return parse_enum(d, s, f, why, n);
    case K_CSV:
        return parse_csv(d, s, f, why, n);
    case K_LIST:
        return parse_list(d, s, f, why, n);
    }
    return -1;
}

/* ---- cross-variable rules and computed defaults ---------------------------- */

static int same_addr(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int is_prefix(const char *a, const char *b)
{
    return strncmp(a, b, strlen(a)) == 0;
}

/* Valid UTF-8 (JSON keys and values, EMF members must be). */
static int is_utf8(const char *v)
{
    ws_utf8 u = {0};
    return v && ws_utf8_feed(&u, (const uint8_t *)v, strlen(v)) == 0 && ws_utf8_complete(&u);
}

static const char *not_utf8(const gateway_config *c)
{
    const struct { const char *name, *v; } t[] = {
        {"PLAIN_WS_EVENT_FIELD", c->plain_ws_event_field}, {"PLAIN_WS_DATA_FIELD", c->plain_ws_data_field},
        {"PLAIN_WS_ID_FIELD", c->plain_ws_id_field},       {"PLAIN_WS_BINARY_EVENT", c->plain_ws_binary_event},
        {"METRICS_EMF_NAMESPACE", c->metrics_emf_namespace}, {"METRICS_EMF_CLUSTER_NAME", c->metrics_emf_cluster},
        {"METRICS_EMF_SERVICE_NAME", c->metrics_emf_service},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].v && !is_utf8(t[i].v))
            return t[i].name;
    return NULL;
}

static int plain_check(const gateway_config *c, char *err, size_t n)
{
    const char *f[3] = {c->plain_ws_event_field, c->plain_ws_data_field, c->plain_ws_id_field};
    if (!c->plain_ws_path)
        return 0; /* off: nothing of it is used */
    if (!strcmp(f[0], f[1]) || !strcmp(f[0], f[2]) || !strcmp(f[1], f[2]))
        snprintf(err, n, "PLAIN_WS_EVENT_FIELD, PLAIN_WS_DATA_FIELD, PLAIN_WS_ID_FIELD: must differ");
    else if (sio_is_reserved_event(c->plain_ws_binary_event))
        snprintf(err, n, "PLAIN_WS_BINARY_EVENT: '%s' is reserved", c->plain_ws_binary_event);
    else if (is_prefix(c->plain_ws_path, c->sio_path) || is_prefix(c->sio_path, c->plain_ws_path))
        snprintf(err, n, "PLAIN_WS_PATH: '%s' overlaps SIO_PATH '%s'", c->plain_ws_path, c->sio_path);
    else if (!strcmp(f[0], "attachments") || !strcmp(f[1], "attachments") || !strcmp(f[2], "attachments"))
        snprintf(err, n, "PLAIN_WS_*_FIELD: \"attachments\" is the plain messages' own");
    else if (!glob_match_any((const char *const *)c->namespaces, c->plain_ws_namespace,
                             strlen(c->plain_ws_namespace)))
        snprintf(err, n, "PLAIN_WS_NAMESPACE: '%s' is not in NAMESPACES", c->plain_ws_namespace);
    else
        return 0;
    return -1;
}

static int cross_check(const gateway_config *c, char *err, size_t n)
{
    const char *bad = not_utf8(c);
    if (bad) {
        snprintf(err, n, "%s: must be valid UTF-8", bad);
        return -1;
    }
    if (!!c->jwt_secret + !!c->jwt_public_key_file + !!c->jwt_public_key > 1) {
        snprintf(err, n, "JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_PUBLIC_KEY are mutually exclusive: set one");
        return -1;
    }
    if (c->redis_cluster && c->redis_adapter && strcmp(c->redis_adapter, "streams") == 0) {
        snprintf(err, n, "REDIS_CLUSTER=true works with REDIS_ADAPTER=sharded or pubsub, not streams");
        return -1;
    }
    if (c->redis_cluster_seeds && !c->redis_cluster) {
        snprintf(err, n, "REDIS_CLUSTER_SEEDS: only with REDIS_CLUSTER=true");
        return -1;
    }
    if (c->event_stream && !c->redis_url) {
        snprintf(err, n, "EVENT_STREAM: needs REDIS_URL");
        return -1;
    }
    if (c->event_stream && c->event_proxy_url) {
        snprintf(err, n, "EVENT_STREAM and EVENT_PROXY_URL are mutually exclusive: set one");
        return -1;
    }
    if (plain_check(c, err, n))
        return -1;
    if (c->api_port == c->port && same_addr(c->bind_addr, c->api_bind_addr)) {
        snprintf(err, n, "API_PORT: must differ from PORT (%d) on the same address", c->port);
        return -1;
    }
    return 0;
}

static char *default_node_id(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "sio");
    host[sizeof host - 1] = '\0';
    char id[300];
    snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
    return strdup(id);
}

/* ---- public ------------------------------------------------------------------ */

int gateway_config_load(gateway_config *c, const char *(*getenv_fn)(const char *name),
                        char *err, size_t err_len)
{
    char why[512];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NVARS; i++) {
        const var_desc *d = &VARS[i];
        const char *s = getenv_fn ? getenv_fn(d->name) : NULL;
        if (!s)
            s = d->def;
        if (s && parse_var(c, d, s, why, sizeof why) < 0) {
            snprintf(err, err_len, "%s: %s", d->name, why);
            gateway_config_free(c);
            return -1;
        }
    }
    if (!c->node_id && !(c->node_id = default_node_id()))
        snprintf(err, err_len, "NODE_ID: out of memory");
    if (!c->node_id || cross_check(c, err, err_len) < 0) {
        gateway_config_free(c);
        return -1;
    }
    if (c->redis_url && c->recovery_window_ms && strcmp(c->redis_adapter, "sharded") == 0) {
        c->recovery_window_ms = 0; /* no total order to recover from: see docs/DEPLOY.md */
        c->recovery_unavailable = 1;
    }
    return 0;
}

void gateway_config_free(gateway_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NVARS; i++) {
        const var_desc *d = &VARS[i];
        if (d->kind == K_LIST)
            free_list(*(char ***)field(c, d));
        else if (d->kind == K_STR || d->kind == K_ENUM || d->kind == K_CSV)
            free(*(char **)field(c, d));
    }
    memset(c, 0, sizeof *c);
}

static const char *shown_default(const var_desc *d)
{
    return d->shown ? d->shown : d->def && d->def[0] ? d->def : "-";
}

/* The description plus what the kind accepts, e.g. " [1..65535]". */
static void describe(const var_desc *d, char *buf, size_t n)
{
    char choices[80];
    if (d->kind == K_INT || d->kind == K_U32 || d->kind == K_SIZE)
        snprintf(buf, n, "%s [%lu..%lu]", d->help, d->min, d->max);
    else if (d->kind == K_BOOL)
        snprintf(buf, n, "%s [true|false]", d->help);
    else if (d->kind == K_ENUM) {
        join_choices(d, choices, sizeof choices);
        snprintf(buf, n, "%s [%s]", d->help, choices);
    } else
        snprintf(buf, n, "%s", d->help);
}

void gateway_config_print_help(FILE *out)
{
    int name_w = (int)strlen("VARIABLE"), def_w = (int)strlen("DEFAULT");
    for (size_t i = 0; i < NVARS; i++) {
        int nw = (int)strlen(VARS[i].name), dw = (int)strlen(shown_default(&VARS[i]));
        name_w = nw > name_w ? nw : name_w;
        def_w = dw > def_w ? dw : def_w;
    }
    fprintf(out, "%-*s  %-*s  %s\n", name_w, "VARIABLE", def_w, "DEFAULT", "DESCRIPTION");
    for (size_t i = 0; i < NVARS; i++) {
        char desc[256];
        describe(&VARS[i], desc, sizeof desc);
        fprintf(out, "%-*s  %-*s  %s\n", name_w, VARS[i].name, def_w, shown_default(&VARS[i]), desc);
    }
}
