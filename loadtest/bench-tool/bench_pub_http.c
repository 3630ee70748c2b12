/* bench_pub_http: the broadcast API backend of the publisher. POST
 * {"namespace","rooms":[room],"event":"bench","data":{t,room,seq}} to
 * http://HOST:API_PORT/v1/broadcast over --api-conns keep-alive connections
 * (libevent's evhttp client), one request in flight on each, so that the
 * publish stamp is taken when the request really leaves. */
#include "bench_publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

typedef struct pub_http pub_http;

typedef struct http_slot {
    pub_http *h;
    struct evhttp_connection *conn;
    uint32_t room;
    int busy;
} http_slot;

struct pub_http {
    bench_publisher *p;
    const bench_config *cfg;
    char url[512];
    char path[512];
    char hostport[300];
    char auth[600];
    char *data, *body;      /* the request body, sized for --size */
    size_t cap;
    http_slot *slots;
    uint32_t n, next;
    size_t busy;
};

static void on_reply(struct evhttp_request *req, void *arg)
{
    http_slot *s = arg;
    pub_http *h = s->h;
    s->busy = 0;
    h->busy--;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 200 || code == 202) {
        publisher_done_one(h->p, s->room, 1, NULL);
        return;
    }
    char msg[BENCH_ERR_LEN], body[96] = "";
    if (code) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_copyout(in, body, sizeof(body) - 1);
        body[n > 0 ? n : 0] = '\0';
        snprintf(msg, sizeof(msg), "broadcast API %.60s: HTTP %d %s", h->url, code, body);
    } else {
        snprintf(msg, sizeof(msg), "broadcast API %.80s: no answer (connection refused or closed)",
                 h->url);
    }
    publisher_done_one(h->p, s->room, 0, msg);
}

static int http_ready(void *ctx)
{
    pub_http *h = ctx;
    return h->busy < h->n;
}

static int http_send(void *ctx, uint32_t room, uint32_t seq, uint64_t t_us)
{
    pub_http *h = ctx;
    http_slot *s = NULL;
    for (uint32_t i = 0; i < h->n && !s; i++) {
        http_slot *cand = &h->slots[(h->next + i) % h->n];
        if (!cand->busy)
            s = cand;
    }
    if (!s)
        return -1;
    h->next = (uint32_t)(s - h->slots + 1) % h->n;
    char name[320];
    if (publisher_data_json(h->cfg, room, seq, t_us, h->data, h->cap) < 0 ||
        bench_room_name(h->cfg, room, name, sizeof(name)) < 0)
        return -1;
    int len = snprintf(h->body, h->cap + 1024,
                       "{\"namespace\":\"%s\",\"rooms\":[\"%s\"],\"event\":\"bench\",\"data\":%s}",
                       h->cfg->nsp, name, h->data);
    if (len < 0 || (size_t)len >= h->cap + 1024)
        return -1;
    struct evhttp_request *req = evhttp_request_new(on_reply, s);
    if (!req)
        return -1;
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdr, "Host", h->hostport);
    evhttp_add_header(hdr, "Content-Type", "application/json");
    if (h->auth[0])
        evhttp_add_header(hdr, "Authorization", h->auth);
    evbuffer_add(evhttp_request_get_output_buffer(req), h->body, (size_t)len);
    s->room = room;
    s->busy = 1;
    h->busy++;
    if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, h->path)) {
        s->busy = 0; /* evhttp freed the request */
        h->busy--;
        return -1;
    }
    return 0;
}

static size_t http_in_flight(void *ctx)
{
    return ((pub_http *)ctx)->busy;
}

static const char *http_fatal(void *ctx)
{
    return NULL; /* every request stands alone: failures are counted, not fatal */
}

static void http_free(void *ctx)
{
    pub_http *h = ctx;
    for (uint32_t i = 0; i < h->n; i++)
        if (h->slots[i].conn)
            evhttp_connection_free(h->slots[i].conn);
    free(h->slots);
    free(h->data);
    free(h->body);
    free(h);
}

int pub_http_new(bench_publisher *p, struct event_base *base, const bench_config *cfg,
                 pub_backend *out, char *err, size_t errlen)
{
    char text[512];
    if (cfg->api_url)
        snprintf(text, sizeof(text), "%s", cfg->api_url);
    else
        snprintf(text, sizeof(text), "http://%s%s%s:3001", strchr(cfg->urls[0].host, ':') ? "[" : "",
                 cfg->urls[0].host, strchr(cfg->urls[0].host, ':') ? "]" : "");
    bench_url u;
    if (bench_url_parse(text, &u, err, errlen))
        return -1;
    pub_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->p = p;
    h->cfg = cfg;
    snprintf(h->url, sizeof(h->url), "%s", text);
    snprintf(h->hostport, sizeof(h->hostport), "%s", u.hostport);
    const char *path = strchr(text + 7, '/'); /* the path as given, if any */
    snprintf(h->path, sizeof(h->path), "%s", path && strcmp(path, "/") ? path : "/v1/broadcast");
    if (cfg->api_token)
        snprintf(h->auth, sizeof(h->auth), "Bearer %s", cfg->api_token);
    h->n = cfg->api_conns;
    h->cap = (size_t)cfg->size + 512;
    h->data = malloc(h->cap);
    h->body = malloc(h->cap + 1024);
    h->slots = calloc(h->n, sizeof(http_slot));
    if (!h->slots || !h->data || !h->body) {
        free(h->slots);
        free(h->data);
        free(h->body);
        free(h);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < h->n; i++) {
        h->slots[i].h = h;
        h->slots[i].conn = evhttp_connection_base_new(base, NULL, u.host, (ev_uint16_t)atoi(u.port));
        if (!h->slots[i].conn) {
            snprintf(err, errlen, "cannot create a connection to the broadcast API %s", text);
            http_free(h);
            return -1;
        }
        evhttp_connection_set_retries(h->slots[i].conn, 0);
        evhttp_connection_set_timeout(h->slots[i].conn, 10);
    }
    *out = (pub_backend){h, http_ready, http_send, http_in_flight, http_fatal, http_free};
    return 0;
}
