/* bench_args: the command line of sio-bench: defaults, parsing, validation
 * (every bad argument is an error value with a message; main prints the usage
 * and exits 2), and the URL parser/resolver. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_usage(FILE *to)
{
    fprintf(to,
            "usage: sio-bench --url ws://HOST:PORT/socket.io/ [options]\n"
            "       sio-bench --url ws://HOST:PORT/ --plain-path /ws [options]\n"
            "       sio-bench --self-test [-c N] [--duration S]\n"
            "\n"
            "Clients:\n"
            "  --url URL            target (ws:// or http://), repeatable: clients round-robin\n"
            "  -c, --connections N  client connections (default 100)\n"
            "  --workers W          worker processes, N/W connections each (default 1;\n"
            "                       at most %d connections per worker, half that with polling)\n"
            "  --transport T        websocket (default) or polling\n"
            "  --plain-path PATH    plain WebSocket clients instead of Socket.IO: each opens a\n"
            "                       WebSocket to PATH (sio-server's PLAIN_WS_PATH, e.g. /ws) on its\n"
            "                       --url's host (the URL's path is not used), no Engine.IO or\n"
            "                       Socket.IO framing; --token goes in the query (?token=JWT)\n"
            "  --nsp NSP            namespace to join (default /); with --plain-path, the one\n"
            "                       broadcasts go to (the server's PLAIN_WS_NAMESPACE)\n"
            "  --token JWT          CONNECT auth payload {\"token\":JWT}\n"
            "  --connect-rate R     new connections/s over all workers (default: no limit)\n"
            "  --inflight N         handshakes in progress at once per worker (default 256)\n"
            "  --ramp-timeout S     time allowed to connect and subscribe (default 30)\n"
            "Rooms:\n"
            "  --rooms N            rooms room-1..room-N (default 0: no subscriptions)\n"
            "  --dist D             one (round-robin, default) | k:K (K random rooms each, K <= 128;\n"
            "                       more than 64 are subscribed in several requests)\n"
            "                       | hot:H (one of H hot rooms + one of the other rooms)\n"
            "  --room-prefix P      room name prefix (default room-)\n"
            "  --seed N             seed of the k:K choice (default 1)\n"
            "Publishing:\n"
            "  --rate R             broadcasts/s, round-robin over the rooms (default 0: none)\n"
            "  --duration S         seconds of publishing, or of holding the connections (default 10)\n"
            "  --api URL            broadcast API (default http://<first --url host>:3001)\n"
            "  --api-token T        bearer token of the API\n"
            "  --api-conns N        parallel API connections (default 8)\n"
            "  --redis URL          publish to Redis as @socket.io/redis-emitter instead\n"
            "  --prefix P           Redis channel prefix (default socket.io)\n"
            "  --drain S            wait for late deliveries after the last publish (default 3)\n"
            "  --size N             pad each broadcast's data with \"pad\":\"xxx...\" so that the\n"
            "                       packet a client receives is N bytes (default: no pad; at\n"
            "                       most %u; smaller than the unpadded packet = no pad)\n"
            "Protocol options:\n"
            "  --deflate            offer permessage-deflate (WebSocket) and inflate compressed messages\n"
            "  --accept-encoding E  polling GETs send Accept-Encoding: E (gzip, deflate) and\n"
            "                       decode compressed responses\n"
            "  --parser P           default | msgpack (socket.io-msgpack-parser: binary packets)\n"
            "  --eio V              4 (default) | 3: Engine.IO v3 / Socket.IO v4 protocol as\n"
            "                       socket.io-client 2.x speaks it (WebSocket only, namespace /;\n"
            "                       the server must not time it out: it sends no pings)\n"
            "Output:\n"
            "  --quiet              no progress lines on stderr\n"
            "  --self-test          measure the receive path against a built-in frame source\n"
            "  --batch N            self-test: events per socket write of the source (default 256;\n"
            "                       1 = a write per event, the costliest case for the receiver)\n"
            "  -h, --help           this text\n"
            "\n"
            "Prints a table and one line 'RESULT {json}'. Exit 0 when the run completed, 1 when\n"
            "no client could connect or publishing failed, 2 for bad arguments.\n",
            BENCH_FD_LIMIT, BENCH_MAX_SIZE);
}

static void defaults(bench_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->transport = TRANSPORT_WEBSOCKET;
    cfg->connections = 100;
    cfg->workers = 1;
    cfg->nsp = "/";
    cfg->eio = 4;
    cfg->dist = DIST_ONE;
    cfg->room_prefix = "room-";
    cfg->duration = 10;
    cfg->api_conns = 8;
    cfg->redis_prefix = "socket.io";
    cfg->inflight = 256;
    cfg->ramp_timeout = 30;
    cfg->drain = 3;
    cfg->seed = 1;
    cfg->batch = 256;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf(err, errlen, fmt, what);
    return -1;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_dist(const char *s, bench_config *cfg)
{
    if (strcmp(s, "one") == 0) {
        cfg->dist = DIST_ONE;
        return 0;
    }
    if (strncmp(s, "k:", 2) == 0) {
        cfg->dist = DIST_K;
        return parse_u32(s + 2, 1, BENCH_MAX_ROOMS_PER_CLIENT, &cfg->dist_arg);
    }
    if (strncmp(s, "hot:", 4) == 0) {
        cfg->dist = DIST_HOT;
        return parse_u32(s + 4, 1, UINT32_MAX, &cfg->dist_arg);
    }
    return -1;
}

int bench_url_parse(const char *text, bench_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    if (strlen(text) >= sizeof(u->text))
        return fail(err, errlen, "URL too long: %s", text);
    snprintf(u->text, sizeof(u->text), "%s", text);
    const char *p;
    if (strncmp(text, "ws://", 5) == 0)
        p = text + 5;
    else if (strncmp(text, "http://", 7) == 0)
        p = text + 7;
    else if (strncmp(text, "wss://", 6) == 0 || strncmp(text, "https://", 8) == 0)
        return fail(err, errlen, "TLS URLs are not supported (put a TLS terminator in front): %s", text);
    else
        return fail(err, errlen, "URL must start with ws:// or http://: %s", text);
    const char *host = p, *host_end;
    if (*p == '[') { /* [IPv6] */
        host_end = strchr(p, ']');
        if (!host_end)
            return fail(err, errlen, "bad IPv6 address in URL: %s", text);
        host++;
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/?");
        p = host_end;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof(u->host))
        return fail(err, errlen, "URL has no host: %s", text);
    memcpy(u->host, host, hl);
    snprintf(u->port, sizeof(u->port), "80");
    if (*p == ':') {
        uint32_t port;
        char digits[8] = {0};
        size_t dl = strcspn(p + 1, "/?");
        if (dl == 0 || dl >= sizeof(digits))
            return fail(err, errlen, "bad port in URL: %s", text);
        memcpy(digits, p + 1, dl);
        if (parse_u32(digits, 1, 65535, &port))
            return fail(err, errlen, "bad port in URL: %s", text);
        snprintf(u->port, sizeof(u->port), "%u", port);
        p += 1 + dl;
    }
    if (*p == '?')
        return fail(err, errlen, "URL must not have a query: %s", text);
    const char *path = *p && strcmp(p, "/") != 0 ? p : "/socket.io/";
    size_t pl = strcspn(path, "?");
    if (pl + 2 > sizeof(u->path))
        return fail(err, errlen, "URL path too long: %s", text);
    memcpy(u->path, path, pl);
    if (u->path[pl - 1] != '/')
        u->path[pl] = '/';
    int v6 = strchr(u->host, ':') != NULL;
    snprintf(u->hostport, sizeof(u->hostport), v6 ? "[%s]:%s" : "%s:%s", u->host, u->port);
    return 0;
}

int bench_url_resolve(bench_url *u, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc || !res) {
        snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
    u->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* --plain-path: an origin-form request target, /path[?query], no spaces or controls. */
static int check_plain(const bench_config *cfg, char *err, size_t errlen)
{
    const char *p = cfg->plain_path;
    if (!p)
        return 0;
    if (cfg->self_test)
        return fail(err, errlen, "%s", "--self-test takes no --plain-path");
    if (cfg->transport == TRANSPORT_POLLING)
        return fail(err, errlen, "%s", "--plain-path is a WebSocket endpoint: not with --transport polling");
    if (p[0] != '/' || strlen(p) > 400)
        return fail(err, errlen, "bad --plain-path (must start with '/', at most 400 bytes): %s", p);
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#')
            return fail(err, errlen, "bad --plain-path (no spaces, control characters or '#'): %s",
                        cfg->plain_path);
    return 0;
}

static int check(bench_config *cfg, char *err, size_t errlen)
{
    if (check_plain(cfg, err, errlen))
        return -1;
    if (cfg->self_test) {
        if (cfg->n_urls || cfg->rate > 0 || cfg->size)
            return fail(err, errlen, "%s", "--self-test takes no --url, --rate or --size");
        return 0;
    }
    if (cfg->n_urls == 0)
        return fail(err, errlen, "%s", "at least one --url is needed");
    if ((cfg->deflate || cfg->msgpack || cfg->eio == 3) && cfg->plain_path)
        return fail(err, errlen, "%s", "--deflate, --parser and --eio are for Socket.IO clients, not --plain-path");
    if (cfg->deflate && cfg->transport == TRANSPORT_POLLING)
        return fail(err, errlen, "%s", "--deflate is a WebSocket extension: use --accept-encoding with polling");
    if (cfg->accept_encoding && cfg->transport != TRANSPORT_POLLING)
        return fail(err, errlen, "%s", "--accept-encoding is for --transport polling");
    if (cfg->eio == 3 && (cfg->transport == TRANSPORT_POLLING || strcmp(cfg->nsp, "/") || cfg->token || cfg->msgpack))
        return fail(err, errlen, "%s", "--eio 3 takes the WebSocket transport, namespace / and no --token or --parser");
    if (cfg->workers > cfg->connections)
        return fail(err, errlen, "%s", "--workers must not exceed --connections");
    if (cfg->plain_path && cfg->dist == DIST_K && cfg->dist_arg > BENCH_ROOMS_PER_REQUEST)
        return fail(err, errlen, "%s", "plain clients subscribe in one request: --dist k:K takes K <= 64 with --plain-path");
    uint32_t per_worker = (cfg->connections + cfg->workers - 1) / cfg->workers;
    uint32_t fds = cfg->transport == TRANSPORT_POLLING ? 2 : 1;
    if ((uint64_t)per_worker * fds > BENCH_FD_LIMIT) {
        uint64_t need = ((uint64_t)cfg->connections * fds + BENCH_FD_LIMIT - 1) / BENCH_FD_LIMIT;
        snprintf(err, errlen,
                 "%u connections per worker is too many: a worker may hold at most %u %s "
                 "connections (20,000 open files per process); use --workers %llu or more",
                 per_worker, BENCH_FD_LIMIT / fds,
                 cfg->transport == TRANSPORT_POLLING ? "polling" : "websocket",
                 (unsigned long long)need);
        return -1;
    }
    if (cfg->dist == DIST_K && cfg->dist_arg > cfg->rooms)
        return fail(err, errlen, "%s", "--dist k:K needs K <= --rooms");
    if (cfg->dist == DIST_HOT && cfg->dist_arg > cfg->rooms)
        return fail(err, errlen, "%s", "--dist hot:H needs H <= --rooms");
    if (cfg->rate > 0 && cfg->rooms == 0)
        return fail(err, errlen, "%s", "--rate needs --rooms N (N >= 1)");
    if (cfg->redis_url && strncmp(cfg->redis_url, "redis://", 8) != 0)
        return fail(err, errlen, "--redis must be a redis:// URL: %s", cfg->redis_url);
    if (cfg->api_url && strncmp(cfg->api_url, "http://", 7) != 0)
        return fail(err, errlen, "--api must be an http:// URL: %s", cfg->api_url);
    bench_url api;
    if (cfg->api_url && bench_url_parse(cfg->api_url, &api, err, errlen))
        return -1;
    if (cfg->nsp[0] != '/' || strpbrk(cfg->nsp, ",\"\\"))
        return fail(err, errlen, "bad --nsp (must start with '/', no ',' or quotes): %s", cfg->nsp);
    if (strpbrk(cfg->room_prefix, "\"\\") || !*cfg->room_prefix || strlen(cfg->room_prefix) > 200)
        return fail(err, errlen, "bad --room-prefix: '%s'", cfg->room_prefix);
    return 0;
}

enum {
    OPT_URL = 256, OPT_WORKERS, OPT_TRANSPORT, OPT_NSP, OPT_TOKEN, OPT_ROOMS, OPT_DIST,
    OPT_ROOM_PREFIX, OPT_RATE, OPT_DURATION, OPT_API, OPT_API_TOKEN, OPT_API_CONNS, OPT_REDIS,
    OPT_PREFIX, OPT_CONNECT_RATE, OPT_INFLIGHT, OPT_RAMP_TIMEOUT, OPT_DRAIN, OPT_SEED, OPT_QUIET,
    OPT_SELF_TEST, OPT_BATCH, OPT_PLAIN_PATH, OPT_SIZE, OPT_DEFLATE, OPT_ACCEPT_ENCODING,
    OPT_PARSER, OPT_EIO,
};

static const struct option LONG_OPTS[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"connections", required_argument, NULL, 'c'},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"plain-path", required_argument, NULL, OPT_PLAIN_PATH},
    {"nsp", required_argument, NULL, OPT_NSP},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"rooms", required_argument, NULL, OPT_ROOMS},
    {"dist", required_argument, NULL, OPT_DIST},
    {"room-prefix", required_argument, NULL, OPT_ROOM_PREFIX},
    {"rate", required_argument, NULL, OPT_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"api", required_argument, NULL, OPT_API},
    {"api-token", required_argument, NULL, OPT_API_TOKEN},
    {"api-conns", required_argument, NULL, OPT_API_CONNS},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"ramp-timeout", required_argument, NULL, OPT_RAMP_TIMEOUT},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"size", required_argument, NULL, OPT_SIZE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"self-test", no_argument, NULL, OPT_SELF_TEST},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"deflate", no_argument, NULL, OPT_DEFLATE},
    {"accept-encoding", required_argument, NULL, OPT_ACCEPT_ENCODING},
    {"parser", required_argument, NULL, OPT_PARSER},
    {"eio", required_argument, NULL, OPT_EIO},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; returns 0, or -1 with err set. */
static int apply(bench_config *cfg, int opt, const char *arg, char *err, size_t errlen)
{
    int bad = 0;
    switch (opt) {
    case OPT_URL:
        if (cfg->n_urls == BENCH_MAX_URLS)
            return fail(err, errlen, "%s", "too many --url");
        return bench_url_parse(arg, &cfg->urls[cfg->n_urls++], err, errlen);
    case 'c': bad = parse_u32(arg, 1, 10000000, &cfg->connections); break;
    case OPT_WORKERS: bad = parse_u32(arg, 1, 256, &cfg->workers); break;
    case OPT_TRANSPORT:
        if (strcmp(arg, "websocket") == 0 || strcmp(arg, "ws") == 0)
            cfg->transport = TRANSPORT_WEBSOCKET;
        else if (strcmp(arg, "polling") == 0)
            cfg->transport = TRANSPORT_POLLING;
        else
            bad = 1;
        break;
    case OPT_PLAIN_PATH: cfg->plain_path = arg; break;
    case OPT_NSP: cfg->nsp = arg; break;
    case OPT_TOKEN: cfg->token = arg; break;
    case OPT_ROOMS: bad = parse_u32(arg, 0, 10000000, &cfg->rooms); break;
    case OPT_DIST: bad = parse_dist(arg, cfg); break;
    case OPT_ROOM_PREFIX: cfg->room_prefix = arg; break;
    case OPT_RATE: bad = parse_double(arg, 0, 10e6, &cfg->rate); break;
    case OPT_DURATION: bad = parse_double(arg, 0.001, 86400, &cfg->duration); break;
    case OPT_API: cfg->api_url = arg; break;
    case OPT_API_TOKEN: cfg->api_token = arg; break;
    case OPT_API_CONNS: bad = parse_u32(arg, 1, 1000, &cfg->api_conns); break;
    case OPT_REDIS: cfg->redis_url = arg; break;
    case OPT_PREFIX: cfg->redis_prefix = arg; break;
    case OPT_CONNECT_RATE: bad = parse_double(arg, 0, 10e6, &cfg->connect_rate); break;
    case OPT_INFLIGHT: bad = parse_u32(arg, 1, 100000, &cfg->inflight); break;
    case OPT_RAMP_TIMEOUT: bad = parse_double(arg, 0.1, 3600, &cfg->ramp_timeout); break;
    case OPT_DRAIN: bad = parse_double(arg, 0, 600, &cfg->drain); break;
    case OPT_SIZE: bad = parse_u32(arg, 0, BENCH_MAX_SIZE, &cfg->size); break;
    case OPT_SEED: {
        char *end;
        errno = 0;
        cfg->seed = strtoull(arg, &end, 10);
        bad = errno || end == arg || *end;
        break;
    }
    case OPT_QUIET: cfg->quiet = 1; break;
    case OPT_SELF_TEST: cfg->self_test = 1; break;
    case OPT_BATCH: bad = parse_u32(arg, 1, 4096, &cfg->batch); break;
    case OPT_DEFLATE: cfg->deflate = 1; break;
    case OPT_ACCEPT_ENCODING:
        cfg->accept_encoding = arg;
        bad = strcmp(arg, "gzip") && strcmp(arg, "deflate");
        break;
    case OPT_PARSER:
        cfg->msgpack = strcmp(arg, "msgpack") == 0;
        bad = !cfg->msgpack && strcmp(arg, "default");
        break;
    case OPT_EIO: bad = parse_u32(arg, 3, 4, &cfg->eio); break;
    default: return fail(err, errlen, "%s", "unknown option");
    }
    if (bad) {
        const char *name = "?";
        for (const struct option *o = LONG_OPTS; o->name; o++)
            if (o->val == opt)
                name = o->name;
        snprintf(err, errlen, "bad value for --%s: '%s'", name, arg);
        return -1;
    }
    return 0;
}

int bench_parse_args(int argc, char **argv, bench_config *cfg, char *err, size_t errlen)
{
    defaults(cfg);
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:h", LONG_OPTS, NULL)) != -1) {
        if (opt == 'h')
            return 1;
        if (opt == '?')
            return fail(err, errlen, "unknown option: %s", argv[optind - 1]);
        if (opt == ':')
            return fail(err, errlen, "option needs a value: %s", argv[optind - 1]);
        if (apply(cfg, opt, optarg, err, errlen))
            return -1;
    }
    if (optind < argc)
        return fail(err, errlen, "unexpected argument: %s", argv[optind]);
    return check(cfg, err, errlen);
}
