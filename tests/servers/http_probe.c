/* http_probe: test driver of http_client (adapters/redis/http_client.c) for
 * tests/integration/http-client.test.js. Reads one JSON object per line on
 * stdin and prints one JSON line per result on stdout:
 *   in:  {"id":1,"url":"http://...","body":"{}","timeout_ms":3000,"headers":["X-A: b"],
 *         "then":"free" | {another request}}     ("then": run from this result's callback)
 *        {"cmd":"free"}   frees the client at once (unfinished results: -ECANCELED)
 *        {"cmd":"stats"}  prints {"stats":{"requests":..,"failures":..,"timeouts":..,
 *                                 "inflight":..,"queued":..}}
 *   out: {"id":1,"status":200,"error":0,"error_text":"","body":"...","body_len":3}
 *        a post refused at once: the same with "sync":true and the return code as error
 * EOF on stdin: waits for every result, frees the client, exits 0. A callback
 * run inside http_client_post aborts the probe (the contract says never).
 * Usage: sio-http-probe [--max-inflight N] [--max-queued N]
 *                       [--max-response-bytes N] [--ca-file F]
 * Exits 2 on bad arguments, 1 on bad input lines. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "http_client.h"

typedef struct probe {
    struct event_base *base;
    http_client *client;
    struct event *input;
    struct evbuffer *lines;
    long outstanding;  /* posted, result not printed yet */
    int eof, in_post, bad_input;
} probe;

typedef struct pending {
    probe *p;
    json_int_t id;
    json_t *then;  /* NULL, "free" or a request object */
} pending;

static void submit(probe *p, json_t *req);

/* ---- output --------------------------------------------------------------- */

static void print_json(json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (!s) {
        fprintf(stderr, "sio-http-probe: cannot format a result\n");
        exit(1);
    }
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(obj);
}

static void print_result(json_int_t id, const http_result *r, int sync)
{
    json_t *body = json_stringn(r->body, r->body_len);
    json_t *o = json_pack("{sIsisisssosI}", "id", id, "status", r->status, "error", r->error,
                          "error_text", r->error_text, "body", body ? body : json_string("<not utf-8>"),
                          "body_len", (json_int_t)r->body_len);
    if (o && sync)
        json_object_set_new(o, "sync", json_true());
    print_json(o);
}

static void print_stats(const http_client *c)
{
    const http_client_stats *st = http_client_get_stats(c);
    print_json(json_pack("{s{sIsIsIsIsI}}", "stats", "requests", (json_int_t)st->requests,
                         "failures", (json_int_t)st->failures, "timeouts", (json_int_t)st->timeouts,
                         "inflight", (json_int_t)st->inflight, "queued", (json_int_t)st->queued));
}

/* ---- results --------------------------------------------------------------- */

static void maybe_exit(probe *p)
{
    if (p->eof && p->outstanding == 0)
        event_base_loopbreak(p->base);
}

static void on_done(void *ud, const http_result *r)
{
    pending *pd = ud;
    probe *p = pd->p;
    if (p->in_post) {
        fprintf(stderr, "sio-http-probe: callback inside http_client_post\n");
        abort();
    }
    print_result(pd->id, r, 0);
    p->outstanding--;
    if (pd->then && json_is_string(pd->then) && strcmp(json_string_value(pd->then), "free") == 0) {
        http_client *c = p->client;
        p->client = NULL;
        http_client_free(c);
    } else if (pd->then && json_is_object(pd->then)) {
        submit(p, pd->then);
    }
    json_decref(pd->then);
    free(pd);
    maybe_exit(p);
}

/* ---- requests --------------------------------------------------------------- */

static const char **header_list(json_t *arr)
{
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    const char **h = calloc(n + 1, sizeof(*h));
    for (size_t i = 0; h && i < n; i++)
        h[i] = json_string_value(json_array_get(arr, i));
    return h;
}

static void refuse(json_int_t id, int rc)
{
    http_result r = {0, rc, strerror(-rc), "", 0};
    print_result(id, &r, 1);
}

static void submit(probe *p, json_t *req)
{
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    const char *url = json_string_value(json_object_get(req, "url"));
    json_t *body = json_object_get(req, "body");
    uint32_t timeout = (uint32_t)json_integer_value(json_object_get(req, "timeout_ms"));
    const char **headers = header_list(json_object_get(req, "headers"));
    pending *pd = calloc(1, sizeof(*pd));
    if (!pd || !headers || !p->client) {
        refuse(id, p->client ? -ENOMEM : -ECANCELED);
        free(pd);
        free(headers);
        return;
    }
    *pd = (pending){p, id, json_incref(json_object_get(req, "then"))};
    p->in_post = 1;
    int rc = http_client_post(p->client, url ? url : "", headers, json_string_value(body),
                              json_string_length(body), timeout, on_done, pd);
    p->in_post = 0;
    free(headers);
    if (rc) {
        json_decref(pd->then);
        free(pd);
        refuse(id, rc);
        return;
    }
    p->outstanding++;
}

static void command(probe *p, const char *cmd)
{
    if (strcmp(cmd, "free") == 0) {
        http_client *c = p->client;
        p->client = NULL;
        http_client_free(c); /* prints the cancelled results */
    } else if (strcmp(cmd, "stats") == 0 && p->client) {
        print_stats(p->client);
    }
}

static void handle_line(probe *p, const char *line)
{
    json_error_t err;
    json_t *req = json_loads(line, 0, &err);
    if (!json_is_object(req)) {
        fprintf(stderr, "sio-http-probe: bad input line: %s\n", err.text);
        p->bad_input = 1;
        event_base_loopbreak(p->base);
    } else if (json_is_string(json_object_get(req, "cmd"))) {
        command(p, json_string_value(json_object_get(req, "cmd")));
    } else {
        submit(p, req);
    }
    json_decref(req);
}

static void on_input(evutil_socket_t fd, short what, void *arg)
{
    probe *p = arg;
    int n = evbuffer_read(p->lines, fd, 65536);
    char *line;
    size_t len;
    while ((line = evbuffer_readln(p->lines, &len, EVBUFFER_EOL_LF))) {
        if (len)
            handle_line(p, line);
        free(line);
    }
    if (n <= 0) {
        event_del(p->input);
        p->eof = 1;
        maybe_exit(p);
    }
}

/* ---- setup ------------------------------------------------------------------ */

static int parse_num(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !*s || *end || errno ? -1 : 0;
}

static int parse_args(int argc, char **argv, http_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (int i = 1; i < argc; i++) {
        unsigned long long v = 0;
        const char *a = argv[i];
        if (i + 1 >= argc)
            return -1;
        if (strcmp(a, "--ca-file") == 0) {
            cfg->ca_file = argv[++i];
            continue;
        }
        if (parse_num(argv[++i], &v) || v > UINT32_MAX)
            return -1;
        if (strcmp(a, "--max-inflight") == 0)
            cfg->max_inflight = (uint32_t)v;
        else if (strcmp(a, "--max-queued") == 0)
            cfg->max_queued = (uint32_t)v;
        else if (strcmp(a, "--max-response-bytes") == 0)
            cfg->max_response_bytes = (size_t)v;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    http_client_config cfg;
    probe p = {0};
    if (parse_args(argc, argv, &cfg)) {
        fprintf(stderr, "usage: sio-http-probe [--max-inflight N] [--max-queued N] "
                        "[--max-response-bytes N] [--ca-file F]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    p.base = event_base_new();
    p.lines = evbuffer_new();
    p.client = p.base ? http_client_new(p.base, &cfg) : NULL;
    p.input = p.base ? event_new(p.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_input, &p) : NULL;
    int ok = p.client && p.lines && p.input && event_add(p.input, NULL) == 0;
    if (ok)
        event_base_dispatch(p.base);
    else
        fprintf(stderr, "sio-http-probe: cannot start\n");
    http_client_free(p.client);
    if (p.input)
        event_free(p.input);
    if (p.lines)
        evbuffer_free(p.lines);
    if (p.base)
        event_base_free(p.base);
    libevent_global_shutdown();
    return !ok || p.bad_input ? 1 : 0;
}
