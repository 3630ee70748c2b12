/* test_gateway_config: unit tests of the environment configuration
 * (server/gateway_config.c), with a fake environment instead of getenv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway_config.h"

CHECK_STATE;

#define FIXTURE(name) SIO_FIXTURES_DIR "/" name

/* Every variable of gateway_config.h. */
static const char *const ALL_VARS[] = {
    "PORT", "API_PORT", "BIND_ADDR", "API_BIND_ADDR", "SIO_PATH", "CORS_ORIGINS",
    "PING_INTERVAL", "PING_TIMEOUT", "UPGRADE_TIMEOUT", "CONNECT_TIMEOUT", "MAX_PAYLOAD", "TRANSPORTS",
    "STICKY_COOKIE", "PER_MESSAGE_DEFLATE",
    "PER_MESSAGE_DEFLATE_THRESHOLD", "HTTP_COMPRESSION", "HTTP_COMPRESSION_THRESHOLD", "PARSER", "ALLOW_EIO3",
    "PLAIN_WS_PATH", "PLAIN_WS_NAMESPACE", "PLAIN_WS_EVENT_FIELD", "PLAIN_WS_DATA_FIELD",
    "PLAIN_WS_ID_FIELD", "PLAIN_WS_BINARY_EVENT", "NAMESPACES", "SUBSCRIBE_PATTERNS", "PUBLISH_PATTERNS", "JWT_SECRET",
    "JWT_PUBLIC_KEY_FILE", "JWT_PUBLIC_KEY", "API_TOKEN", "API_MAX_BODY", "API_REQUEST_TIMEOUT_MS", "REDIS_URL", "REDIS_PREFIX",
    "REDIS_TLS_CA_FILE", "REDIS_TLS_SNI", "REDIS_SUBSCRIBE_MODE", "REDIS_ADAPTER", "REDIS_SHARDED_SUBSCRIPTION_MODE",
    "REDIS_CLUSTER", "REDIS_CLUSTER_SEEDS", "REDIS_STREAM_MAXLEN",
    "REDIS_BUFFER_MAX_MESSAGES", "REDIS_BUFFER_MAX_BYTES", "HEALTH_REDIS_DOWN_STATUS",
    "DRAIN_SECONDS", "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_IP", "MAX_QUEUE_FRAMES",
    "MAX_QUEUE_BYTES", "MAILBOX_MAX_MESSAGES", "MAILBOX_MAX_BYTES", "MAX_ROOMS_PER_SOCKET", "EVENT_RATE",
    "EVENT_BURST", "RECOVERY_WINDOW_MS", "RECOVERY_MAX_PACKETS", "RECOVERY_MAX_BYTES",
    "CONNECT_PROXY_URL", "CONNECT_PROXY_FAIL", "EVENT_PROXY_URL", "EVENT_STREAM", "EVENT_STREAM_MAXLEN",
    "PROXY_EVENTS", "PROXY_LIFECYCLE", "PROXY_HEADERS", "PROXY_TIMEOUT_MS", "PROXY_MAX_INFLIGHT",
    "PROXY_MAX_QUEUED", "PROXY_SOCKET_CONCURRENCY", "PROXY_SOCKET_QUEUE", "PROXY_MAX_RESPONSE_BYTES",
    "PROXY_TLS_CA_FILE", "METRICS_EMF", "METRICS_EMF_INTERVAL_MS", "METRICS_EMF_NAMESPACE", "METRICS_EMF_CLUSTER_NAME",
    "METRICS_EMF_SERVICE_NAME", "ECS_DRAIN", "ECS_METADATA_POLL_MS", "LOG_LEVEL", "NODE_ID",
};
#define NVARS (sizeof ALL_VARS / sizeof ALL_VARS[0])

/* The fake environment: NULL-terminated name, value pairs. getenv_fn has no
 * context argument, so the test keeps the current one (and the names asked
 * for) in file-scope state. */
static const char *const *fake_env;
static int asked[NVARS];

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < NVARS; i++)
        if (strcmp(ALL_VARS[i], name) == 0)
            asked[i]++;
    for (const char *const *e = fake_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static int load(gateway_config *c, const char *const *env, char *err, size_t n)
{
    fake_env = env;
    err[0] = '\0';
    return gateway_config_load(c, fake_getenv, err, n);
}

static size_t list_len(char **l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    return n;
}

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void test_defaults(void)
{
    const char *const env[] = {NULL};
    gateway_config c;
    char err[256];
    memset(asked, 0, sizeof asked);
    CHECK(load(&c, env, err, sizeof err) == 0);
    for (size_t i = 0; i < NVARS; i++) {
        CHECK(asked[i] == 1);
        if (asked[i] != 1)
            fprintf(stderr, "  %s read %d times\n", ALL_VARS[i], asked[i]);
    }
    CHECK(c.port == 3000 && c.api_port == 3001);
    CHECK(c.bind_addr == NULL && c.api_bind_addr == NULL);
    CHECK(str_eq(c.sio_path, "/socket.io/"));
    CHECK(c.cors_origins == NULL);
    CHECK(c.ping_interval_ms == 25000 && c.ping_timeout_ms == 20000);
    CHECK(c.connect_timeout_ms == 45000 && c.max_payload == 1000000);
    CHECK(str_eq(c.transports, "polling,websocket"));
    CHECK(c.cookie == 1);
    CHECK(list_len(c.namespaces) == 1 && str_eq(c.namespaces[0], "/"));
    CHECK(list_len(c.subscribe_patterns) == 1 && str_eq(c.subscribe_patterns[0], "*"));
    CHECK(c.publish_patterns != NULL && c.publish_patterns[0] == NULL);
    CHECK(c.jwt_secret == NULL && c.jwt_public_key_file == NULL && c.api_token == NULL);
    CHECK(c.api_max_body == 1048576);
    CHECK(c.api_request_timeout_ms == 5000);
    CHECK(c.redis_url == NULL && str_eq(c.redis_prefix, "socket.io"));
    CHECK(c.redis_tls_ca_file == NULL && c.redis_tls_sni == NULL);
    CHECK(str_eq(c.redis_subscribe_mode, "rooms"));
    CHECK(c.health_redis_down_status == 200 && c.drain_seconds == 30);
    CHECK(c.max_connections == 0 && c.max_connections_per_ip == 0);
    CHECK(c.max_queue_frames == 4096 && c.max_queue_bytes == 4194304);
    CHECK(c.mailbox_max_messages == 65536 && c.mailbox_max_bytes == 67108864);
    CHECK(c.event_rate == 0.0 && c.event_burst == 0);
    CHECK(str_eq(c.log_level, "info"));

    char host[256] = "", want[320];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "%s-%ld", host, (long)getpid());
    CHECK(str_eq(c.node_id, want));
    gateway_config_free(&c);
    CHECK(c.node_id == NULL && c.namespaces == NULL);
    gateway_config_free(&c); /* twice is harmless */
    gateway_config_free(NULL);
}

static void test_all_set(void)
{
    const char *const env[] = {
        "PORT", "8080",
        "API_PORT", "0",
        "BIND_ADDR", "127.0.0.1",
        "API_BIND_ADDR", "::1",
        "SIO_PATH", "/io",
        "CORS_ORIGINS", " https://a.example , https://b.example",
        "PING_INTERVAL", "1",
        "PING_TIMEOUT", "86400000",
        "CONNECT_TIMEOUT", "5000",
        "MAX_PAYLOAD", "100000000",
        "TRANSPORTS", " websocket ",
        "STICKY_COOKIE", "off",
        "NAMESPACES", " /, /chat ,/admin*",
        "SUBSCRIBE_PATTERNS", "",
        "PUBLISH_PATTERNS", "room:*,news",
        "JWT_PUBLIC_KEY_FILE", FIXTURE("rsa_public.pem"),
        "API_TOKEN", "t0k3n",
        "API_MAX_BODY", "1",
        "API_REQUEST_TIMEOUT_MS", "250",
        "REDIS_URL", "rediss://:pw@redis.example:6380/0",
        "REDIS_PREFIX", "myapp",
        "REDIS_TLS_CA_FILE", FIXTURE("rsa_cert.pem"),
        "REDIS_TLS_SNI", "redis.example",
        "REDIS_SUBSCRIBE_MODE", "pattern",
        "HEALTH_REDIS_DOWN_STATUS", "503",
        "DRAIN_SECONDS", "0",
        "MAX_CONNECTIONS", "4294967295",
        "MAX_CONNECTIONS_PER_IP", "10",
        "MAX_QUEUE_FRAMES", "1",
        "MAX_QUEUE_BYTES", "65536",
        "EVENT_RATE", "2.5",
        "EVENT_BURST", "20",
        "LOG_LEVEL", "WARN",
        "NODE_ID", "node-a",
        NULL,
    };
    gateway_config c;
    char err[256];
    CHECK(load(&c, env, err, sizeof err) == 0);
    if (err[0])
        fprintf(stderr, "  unexpected error: %s\n", err);
    CHECK(c.port == 8080 && c.api_port == 0);
    CHECK(str_eq(c.bind_addr, "127.0.0.1") && str_eq(c.api_bind_addr, "::1"));
    CHECK(str_eq(c.sio_path, "/io/"));
    CHECK(str_eq(c.cors_origins, "https://a.example,https://b.example"));
    CHECK(c.ping_interval_ms == 1 && c.ping_timeout_ms == 86400000);
    CHECK(c.connect_timeout_ms == 5000 && c.max_payload == 100000000);
    CHECK(str_eq(c.transports, "websocket"));
    CHECK(c.cookie == 0);
    CHECK(list_len(c.namespaces) == 3 && str_eq(c.namespaces[0], "/") &&
          str_eq(c.namespaces[1], "/chat") && str_eq(c.namespaces[2], "/admin*"));
    CHECK(c.subscribe_patterns != NULL && list_len(c.subscribe_patterns) == 0);
    CHECK(list_len(c.publish_patterns) == 2 && str_eq(c.publish_patterns[0], "room:*") &&
          str_eq(c.publish_patterns[1], "news"));
    CHECK(c.jwt_secret == NULL && str_eq(c.jwt_public_key_file, FIXTURE("rsa_public.pem")));
    CHECK(str_eq(c.api_token, "t0k3n") && c.api_max_body == 1 && c.api_request_timeout_ms == 250);
    CHECK(str_eq(c.redis_url, "rediss://:pw@redis.example:6380/0"));
    CHECK(str_eq(c.redis_prefix, "myapp"));
    CHECK(str_eq(c.redis_tls_ca_file, FIXTURE("rsa_cert.pem")));
    CHECK(str_eq(c.redis_tls_sni, "redis.example"));
    CHECK(str_eq(c.redis_subscribe_mode, "pattern"));
    CHECK(c.health_redis_down_status == 503 && c.drain_seconds == 0);
    CHECK(c.max_connections == 4294967295u && c.max_connections_per_ip == 10);
    CHECK(c.max_queue_frames == 1 && c.max_queue_bytes == 65536);
    CHECK(c.event_rate == 2.5 && c.event_burst == 20);
    CHECK(str_eq(c.log_level, "warn"));
    CHECK(str_eq(c.node_id, "node-a"));
    gateway_config_free(&c);
}

/* Loads one variable (and optionally a second); returns the error or "". */
static const char *load_one(const char *name, const char *value, char *err, size_t n)
{
    const char *const env[] = {name, value, NULL};
    gateway_config c;
    int rc = load(&c, env, err, n);
    if (rc == 0) {
        gateway_config_free(&c);
        return "";
    }
    /* on failure nothing is left to free */
    CHECK(c.sio_path == NULL && c.namespaces == NULL && c.node_id == NULL && c.transports == NULL);
    return err;
}

static void test_valid_values(void)
{
    static const char *const ok[][2] = {
        {"PORT", "1"}, {"PORT", "65535"}, {"API_PORT", "65535"}, {"SIO_PATH", "/"},
        {"SIO_PATH", "/a/b/"}, {"PING_INTERVAL", "86400000"}, {"MAX_PAYLOAD", "1"},
        {"HEALTH_REDIS_DOWN_STATUS", "200"}, {"HEALTH_REDIS_DOWN_STATUS", "599"},
        {"DRAIN_SECONDS", "3600"}, {"EVENT_RATE", "0"}, {"EVENT_RATE", "0.5"},
        {"EVENT_RATE", "1000"}, {"EVENT_RATE", "007"}, {"STICKY_COOKIE", "1"},
        {"STICKY_COOKIE", "0"}, {"STICKY_COOKIE", "true"}, {"STICKY_COOKIE", "FALSE"},
        {"STICKY_COOKIE", "yes"}, {"STICKY_COOKIE", "No"}, {"STICKY_COOKIE", "on"},
        {"STICKY_COOKIE", "off"}, {"TRANSPORTS", "polling"}, {"TRANSPORTS", "websocket,polling"},
        {"NAMESPACES", "/*"}, {"CORS_ORIGINS", "*"}, {"REDIS_URL", "redis://localhost"},
        {"REDIS_URL", "redis://localhost:6379/2"}, {"LOG_LEVEL", "debug"}, {"LOG_LEVEL", "error"},
        {"REDIS_SUBSCRIBE_MODE", "rooms"}, {"JWT_SECRET", "s"}, {"PUBLISH_PATTERNS", ""},
        {"PUBLISH_PATTERNS", "  "}, {"MAX_CONNECTIONS", "0"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *got = load_one(ok[i][0], ok[i][1], err, sizeof err);
        CHECK(got[0] == '\0');
        if (got[0])
            fprintf(stderr, "  %s='%s' rejected: %s\n", ok[i][0], ok[i][1], got);
    }
}

static void test_invalid_values(void)
{
    static const struct {
        const char *name, *value, *needle;
    } bad[] = {
        {"PORT", "0", "out of range 1..65535"},
        {"PORT", "65536", "out of range"},
        {"PORT", "abc", "not a positive integer: 'abc'"},
        {"PORT", "-1", "not a positive integer"},
        {"PORT", "+1", "not a positive integer"},
        {"PORT", " 1", "not a positive integer"},
        {"PORT", "1 ", "not a positive integer"},
        {"PORT", "0x10", "not a positive integer"},
        {"PORT", "1e3", "not a positive integer"},
        {"PORT", "", "not a positive integer"},
        {"PORT", "99999999999999999999999999", "not a positive integer"},
        {"API_PORT", "65536", "out of range 0..65535"},
        {"API_PORT", "x", "not an integer"},
        {"PING_INTERVAL", "abc", "not a positive integer: 'abc'"},
        {"PING_INTERVAL", "0", "out of range 1..86400000"},
        {"PING_TIMEOUT", "86400001", "out of range"},
        {"CONNECT_TIMEOUT", "0", "out of range"},
        {"MAX_PAYLOAD", "100000001", "out of range 1..100000000"},
        {"MAX_PAYLOAD", "0", "out of range"},
        {"API_MAX_BODY", "0", "out of range"},
        {"API_REQUEST_TIMEOUT_MS", "0", "out of range"},
        {"HEALTH_REDIS_DOWN_STATUS", "199", "out of range 200..599"},
        {"HEALTH_REDIS_DOWN_STATUS", "600", "out of range"},
        {"DRAIN_SECONDS", "3601", "out of range 0..3600"},
        {"DRAIN_SECONDS", "-5", "not an integer"},
        {"MAX_CONNECTIONS", "4294967296", "out of range"},
        {"MAX_QUEUE_FRAMES", "0", "out of range"},
        {"MAX_QUEUE_BYTES", "0", "out of range"},
        {"EVENT_BURST", "1.5", "not an integer"},
        {"EVENT_RATE", "-1", "non-negative decimal"},
        {"EVENT_RATE", "1e3", "non-negative decimal"},
        {"EVENT_RATE", "1.", "non-negative decimal"},
        {"EVENT_RATE", ".5", "non-negative decimal"},
        {"EVENT_RATE", "nan", "non-negative decimal"},
        {"EVENT_RATE", "inf", "non-negative decimal"},
        {"EVENT_RATE", "", "non-negative decimal"},
        {"EVENT_RATE", "1,5", "non-negative decimal"},
        {"STICKY_COOKIE", "maybe", "not a boolean"},
        {"STICKY_COOKIE", "", "not a boolean"},
        {"STICKY_COOKIE", "2", "not a boolean"},
        {"SIO_PATH", "socket.io", "must start with '/'"},
        {"SIO_PATH", "", "empty"},
        {"SIO_PATH", "/a b", "must not contain"},
        {"SIO_PATH", "/a?x=1", "must not contain"},
        {"NAMESPACES", "chat", "must start with '/': 'chat'"},
        {"NAMESPACES", "/a, b", "must start with '/': 'b'"},
        {"NAMESPACES", "/a,,/b", "empty item"},
        {"NAMESPACES", "/a,", "empty item"},
        {"NAMESPACES", "", "at least one"},
        {"TRANSPORTS", "", "at least one"},
        {"TRANSPORTS", "polling,xhr", "polling or websocket: 'xhr'"},
        {"TRANSPORTS", "polling,", "empty item"},
        {"TRANSPORTS", "WebSocket", "polling or websocket"},
        {"CORS_ORIGINS", "", "at least one"},
        {"CORS_ORIGINS", "a,,b", "empty item"},
        {"SUBSCRIBE_PATTERNS", "a, ,b", "empty item"},
        {"PUBLISH_PATTERNS", ",", "empty item"},
        {"REDIS_URL", "http://localhost", "redis:// or rediss://"},
        {"REDIS_URL", "redis://", "redis:// or rediss://"},
        {"REDIS_URL", "", "empty"},
        {"REDIS_SUBSCRIBE_MODE", "room", "must be one of rooms|pattern: 'room'"},
        {"REDIS_SUBSCRIBE_MODE", "", "must be one of"},
        {"LOG_LEVEL", "verbose", "must be one of debug|info|warn|error"},
        {"LOG_LEVEL", "", "must be one of"},
        {"JWT_PUBLIC_KEY_FILE", FIXTURE("does-not-exist.pem"), "does-not-exist.pem"},
        {"JWT_PUBLIC_KEY_FILE", SIO_FIXTURES_DIR, "not a regular file"},
        {"JWT_PUBLIC_KEY_FILE", "", "empty"},
        {"REDIS_TLS_CA_FILE", "/nonexistent/ca.pem", "/nonexistent/ca.pem"},
        {"JWT_SECRET", "", "empty"},
        {"API_TOKEN", "", "empty"},
        {"BIND_ADDR", "", "empty"},
        {"API_BIND_ADDR", "", "empty"},
        {"REDIS_PREFIX", "", "empty"},
        {"REDIS_TLS_SNI", "", "empty"},
        {"NODE_ID", "", "empty"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *got = load_one(bad[i].name, bad[i].value, err, sizeof err);
        size_t nl = strlen(bad[i].name);
        int ok = strncmp(got, bad[i].name, nl) == 0 && strncmp(got + nl, ": ", 2) == 0 &&
                 strstr(got, bad[i].needle) != NULL;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s='%s': got \"%s\", want \"%s: ...%s...\"\n", bad[i].name,
                    bad[i].value, got, bad[i].name, bad[i].needle);
    }
}

static void test_secrets_not_echoed(void)
{
    char err[256];
    const char *got = load_one("REDIS_URL", "http://user:hunter2@redis", err, sizeof err);
    CHECK(strncmp(got, "REDIS_URL: ", 11) == 0 && strstr(got, "hunter2") == NULL);
    got = load_one("JWT_SECRET", "", err, sizeof err);
    CHECK(strncmp(got, "JWT_SECRET: ", 12) == 0);
}

/* The plain WebSocket endpoint: an exact path apart from SIO_PATH, a
 * namespace clients may use, three distinct field names. */
static void test_plain_ws(void)
{
    char err[256];
    gateway_config c;
    const char *const ok[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_EVENT_FIELD", "action",
                              "NAMESPACES", "/,/audio*", "PLAIN_WS_NAMESPACE", "/audio-1", NULL};
    CHECK(load(&c, ok, err, sizeof err) == 0);
    CHECK(strcmp(c.plain_ws_path, "/ws") == 0 && strcmp(c.plain_ws_event_field, "action") == 0);
    CHECK(strcmp(c.plain_ws_data_field, "data") == 0 && strcmp(c.plain_ws_binary_event, "binary") == 0);
    gateway_config_free(&c);
    const char *const off[] = {NULL};
    CHECK(load(&c, off, err, sizeof err) == 0 && c.plain_ws_path == NULL);
    CHECK(strcmp(c.plain_ws_namespace, "/") == 0);
    gateway_config_free(&c);
    const char *const overlap[] = {"PLAIN_WS_PATH", "/socket.io/ws", NULL};
    CHECK(load(&c, overlap, err, sizeof err) == -1 && strncmp(err, "PLAIN_WS_PATH: ", 15) == 0);
    const char *const overlap2[] = {"PLAIN_WS_PATH", "/s", "SIO_PATH", "/s/", NULL};
    CHECK(load(&c, overlap2, err, sizeof err) == -1 && strstr(err, "overlaps"));
    const char *const health[] = {"PLAIN_WS_PATH", "/health", NULL};
    CHECK(load(&c, health, err, sizeof err) == -1);
    const char *const query[] = {"PLAIN_WS_PATH", "/ws?x", NULL};
    CHECK(load(&c, query, err, sizeof err) == -1);
    const char *const unused[] = {"NAMESPACES", "/chat", NULL}; /* off: "/" need not be allowed */
    CHECK(load(&c, unused, err, sizeof err) == 0);
    gateway_config_free(&c);
    const char *const nsp[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_NAMESPACE", "/other", NULL};
    CHECK(load(&c, nsp, err, sizeof err) == -1 && strncmp(err, "PLAIN_WS_NAMESPACE: ", 20) == 0);
    const char *const glob[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_NAMESPACE", "/*", "NAMESPACES", "/*", NULL};
    CHECK(load(&c, glob, err, sizeof err) == -1);
    const char *const same[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_DATA_FIELD", "id", NULL};
    CHECK(load(&c, same, err, sizeof err) == -1 && strstr(err, "must differ"));
    const char *const prefix[] = {"PLAIN_WS_PATH", "/heal", NULL}; /* would route /health to it */
    CHECK(load(&c, prefix, err, sizeof err) == -1 && strstr(err, "/health"));
    const char *const own[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_ID_FIELD", "attachments", NULL};
    CHECK(load(&c, own, err, sizeof err) == -1 && strstr(err, "attachments"));
    const char *const bytes[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_EVENT_FIELD", "\xff", NULL};
    CHECK(load(&c, bytes, err, sizeof err) == -1 && strstr(err, "UTF-8"));
    const char *const emf[] = {"METRICS_EMF_SERVICE_NAME", "a\xc3", NULL};
    CHECK(load(&c, emf, err, sizeof err) == -1 && strncmp(err, "METRICS_EMF_SERVICE_NAME: ", 26) == 0);
    const char *const reserved[] = {"PLAIN_WS_PATH", "/ws", "PLAIN_WS_BINARY_EVENT", "connect", NULL};
    CHECK(load(&c, reserved, err, sizeof err) == -1 && strstr(err, "reserved"));
}

static void test_cross_rules(void)
{
    char err[256];
    gateway_config c;
    const char *const both[] = {"JWT_SECRET", "s3cret", "JWT_PUBLIC_KEY_FILE",
                                FIXTURE("rsa_public.pem"), NULL};
    CHECK(load(&c, both, err, sizeof err) == -1);
    CHECK(strncmp(err, "JWT_SECRET", 10) == 0 && strstr(err, "JWT_PUBLIC_KEY_FILE") &&
          strstr(err, "exclusive") && !strstr(err, "s3cret"));
    CHECK(c.jwt_secret == NULL && c.jwt_public_key_file == NULL);

    const char *const same_port[] = {"PORT", "4000", "API_PORT", "4000", NULL};
    CHECK(load(&c, same_port, err, sizeof err) == -1);
    CHECK(strncmp(err, "API_PORT: ", 10) == 0);
    const char *const default_api_port[] = {"PORT", "3001", NULL};
    CHECK(load(&c, default_api_port, err, sizeof err) == -1);
    CHECK(strncmp(err, "API_PORT: ", 10) == 0);

    const char *const split[] = {"PORT", "4000", "API_PORT", "4000", "API_BIND_ADDR", "127.0.0.1",
                                 NULL};
    CHECK(load(&c, split, err, sizeof err) == 0);
    gateway_config_free(&c);

    /* Redis Cluster: not with streams; seeds need cluster mode; sharded turns recovery off */
    const char *const cluster_streams[] = {"REDIS_URL", "redis://h:1", "REDIS_CLUSTER", "true",
                                           "REDIS_ADAPTER", "streams", NULL};
    CHECK(load(&c, cluster_streams, err, sizeof err) == -1);
    CHECK(strncmp(err, "REDIS_CLUSTER=true works with REDIS_ADAPTER=sharded or pubsub", 61) == 0);
    const char *const seeds_alone[] = {"REDIS_CLUSTER_SEEDS", "h:2", NULL};
    CHECK(load(&c, seeds_alone, err, sizeof err) == -1);
    CHECK(strncmp(err, "REDIS_CLUSTER_SEEDS: ", 21) == 0);
    const char *const cluster[] = {"REDIS_URL", "redis://h:1", "REDIS_CLUSTER", "true", "REDIS_ADAPTER",
                                   "sharded", "REDIS_CLUSTER_SEEDS", "h:2, h:3",
                                   "REDIS_SHARDED_SUBSCRIPTION_MODE", "dynamic-private", NULL};
    CHECK(load(&c, cluster, err, sizeof err) == 0);
    CHECK(c.redis_cluster == 1 && c.redis_cluster_seeds && strcmp(c.redis_cluster_seeds, "h:2,h:3") == 0);
    CHECK(strcmp(c.redis_sharded_mode, "dynamic-private") == 0);
    CHECK(c.recovery_window_ms == 0 && c.recovery_unavailable == 1);
    gateway_config_free(&c);
    const char *const bad_mode[] = {"REDIS_SHARDED_SUBSCRIPTION_MODE", "sometimes", NULL};
    CHECK(load(&c, bad_mode, err, sizeof err) == -1);
    const char *const pubsub[] = {"REDIS_URL", "redis://h:1", NULL};
    CHECK(load(&c, pubsub, err, sizeof err) == 0);
    CHECK(c.recovery_window_ms == 120000 && c.recovery_unavailable == 0 && c.redis_cluster == 0);
    gateway_config_free(&c);

    /* a truncated error buffer still holds a terminated prefix */
    char tiny[8];
    const char *const bad[] = {"PORT", "abc", NULL};
    CHECK(load(&c, bad, tiny, sizeof tiny) == -1);
    CHECK(strcmp(tiny, "PORT: n") == 0);
}

static void test_help(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out != NULL);
    if (!out)
        return;
    gateway_config_print_help(out);
    fclose(out);

    /* one header line, then one line per variable, columns aligned */
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK(lines == NVARS + 1);
    CHECK(strncmp(text, "VARIABLE", 8) == 0 && strstr(text, "DEFAULT") &&
          strstr(text, "DESCRIPTION"));
    size_t def_col = (size_t)(strstr(text, "DEFAULT") - text);
    size_t desc_col = (size_t)(strstr(text, "DESCRIPTION") - text);
    for (size_t i = 0; i < NVARS; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\n%s ", ALL_VARS[i]);
        const char *line = strstr(text, needle);
        CHECK(line != NULL);
        if (!line) {
            fprintf(stderr, "  help lacks %s\n", ALL_VARS[i]);
            continue;
        }
        line++;
        CHECK(line[def_col - 1] == ' ' && line[def_col] != ' ');
        CHECK(line[desc_col - 1] == ' ' && line[desc_col] != ' ' && line[desc_col] != '\n');
    }
    CHECK(strstr(text, "\nPORT ") && strstr(text, "3000"));
    CHECK(strstr(text, "polling,websocket") && strstr(text, "/socket.io/"));
    CHECK(strstr(text, "debug|info|warn|error") && strstr(text, "1..86400000"));
    free(text);
}

int main(void)
{
    test_defaults();
    test_all_set();
    test_valid_values();
    test_invalid_values();
    test_secrets_not_echoed();
    test_cross_rules();
    test_plain_ws();
    test_help();
    return CHECK_DONE("test_gateway_config");
}
