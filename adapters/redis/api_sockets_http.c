/* api_sockets_http: the socket-management requests of the HTTP API, with
 * the API_TOKEN and the error answers of /v1/broadcast:
 *   POST /v1/sockets/join   {"namespace","rooms"?,"except"?,"targets"}  -> 202 {"ok":true}
 *   POST /v1/sockets/leave  (the same)                                  -> 202 {"ok":true}
 *   POST /v1/sockets/disconnect {"namespace","rooms"?,"except"?,"close"?} -> 202 {"ok":true}
 *   GET  /v1/sockets?namespace=/&room=a&except=b -> 200 {"sockets","nodes","complete"}
 *   GET  /v1/rooms?namespace=/                   -> 200 {"rooms","nodes","complete"}
 * The POSTs are published as the Node adapter's REMOTE_JOIN / LEAVE /
 * DISCONNECT (every node applies them, this one from its echo), or, standalone,
 * handed to the own edge: 202, applied asynchronously. The GETs gather every
 * node's answer (api_query.c). REDIS_ADAPTER sharded and streams: 501. */
#include "cluster_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "api_sockets.h"

static int adapter_type(int kind)
{
    return kind == CLUSTER_REQ_JOIN    ? ADAPTER_REMOTE_JOIN
           : kind == CLUSTER_REQ_LEAVE ? ADAPTER_REMOTE_LEAVE
                                       : ADAPTER_REMOTE_DISCONNECT;
}

/* Published (every node applies it, this one too), or given to the own edge. */
static int apply_write(cluster *c, int kind, const api_selection *s)
{
    if (c->redis) {
        adapter_request r = {
            .type = adapter_type(kind),
            .opts_rooms = SIO_UNCONST(char **, s->rooms), .n_opts_rooms = s->n_rooms,
            .opts_except = SIO_UNCONST(char **, s->except), .n_opts_except = s->n_except,
            .rooms = SIO_UNCONST(char **, s->targets), .n_rooms = s->n_targets,
            .close = s->close,
        };
        int rc = redis_adapter_publish_request(c->redis, s->nsp, &r);
        return rc == -ENOBUFS ? -EAGAIN : rc;
    }
    if (mailbox_full(c->to_edge, 0))
        return -ENOBUFS;
    request_msg *m = request_msg_new(kind, s->nsp, "", s->rooms, s->n_rooms, s->except, s->n_except,
                                     s->targets, s->n_targets, "", s->close);
    return m ? mailbox_push(c->to_edge, &m->hdr) : -ENOMEM;
}

static void answer_write(cluster *c, struct evhttp_request *req, int rc)
{
    if (rc == 0)
        return api_reply_json(req, 202, "Accepted", json_pack("{sb}", "ok", 1));
    api_reply_refused(c, req, rc);
}

static void on_write(cluster *c, struct evhttp_request *req, int kind)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        return api_reply_error(c, req, 405, "Method Not Allowed", "use POST");
    if (!api_authorized(c, req))
        return api_reply_error(c, req, 401, "Unauthorized", "unauthorized");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    json_error_t jerr;
    json_t *body = json_loadb((const char *)evbuffer_pullup(in, -1), evbuffer_get_length(in), 0, &jerr);
    if (!body)
        return api_reply_error(c, req, 400, "Bad Request", "malformed JSON");
    api_selection *s = malloc(sizeof(*s));
    const char *err = s ? api_sockets_parse_body(body, kind, c->cfg.namespaces, s) : NULL;
    if (!s || err) {
        free(s);
        json_decref(body);
        return err ? api_reply_error(c, req, 400, "Bad Request", err) : answer_write(c, req, -ENOMEM);
    }
    int rc = apply_write(c, kind, s);
    free(s);
    json_decref(body);
    answer_write(c, req, rc);
}

static void on_join(struct evhttp_request *req, void *arg)
{
    on_write(arg, req, CLUSTER_REQ_JOIN);
}

static void on_leave(struct evhttp_request *req, void *arg)
{
    on_write(arg, req, CLUSTER_REQ_LEAVE);
}

static void on_disconnect(struct evhttp_request *req, void *arg)
{
    on_write(arg, req, CLUSTER_REQ_DISCONNECT);
}

#define QUERY_MAX_PARAMS (2 * API_MAX_ROOMS + 1)

/* The query string's pairs, decoded (libevent's), checked into *s. */
static const char *parse_uri(cluster *c, struct evhttp_request *req, struct evkeyvalq *params,
                             int kind, api_selection *s)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (evhttp_parse_query_str(query ? query : "", params))
        return "malformed query string";
    const char **keys = malloc(QUERY_MAX_PARAMS * 2 * sizeof(char *)), **values = keys + QUERY_MAX_PARAMS;
    size_t n = 0;
    const char *err = keys ? NULL : "out of memory";
    for (struct evkeyval *kv = params->tqh_first; kv && !err; kv = kv->next.tqe_next) {
        if (n == QUERY_MAX_PARAMS)
            err = "at most 1024 room and 1024 except parameters";
        else
            keys[n] = kv->key, values[n++] = kv->value;
    }
    if (!err)
        err = api_sockets_parse_query(keys, values, n, kind == CLUSTER_REQ_FETCH, c->cfg.namespaces, s);
    free(keys);
    return err;
}

static void on_query(cluster *c, struct evhttp_request *req, int kind)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
        return api_reply_error(c, req, 405, "Method Not Allowed", "use GET");
    if (!api_authorized(c, req))
        return api_reply_error(c, req, 401, "Unauthorized", "unauthorized");
    struct evkeyvalq params;
    params.tqh_first = NULL; /* evhttp_parse_query_str initializes it too */
    params.tqh_last = &params.tqh_first;
    api_selection *s = malloc(sizeof(*s));
    const char *err = s ? parse_uri(c, req, &params, kind, s) : "out of memory";
    if (err)
        api_reply_error(c, req, s ? 400 : 500, s ? "Bad Request" : "Internal Server Error", err);
    else
        api_query_start(c, req, kind, s);
    evhttp_clear_headers(&params);
    free(s);
}

static void on_sockets(struct evhttp_request *req, void *arg)
{
    on_query(arg, req, CLUSTER_REQ_FETCH);
}

static void on_rooms(struct evhttp_request *req, void *arg)
{
    on_query(arg, req, CLUSTER_REQ_ALL_ROOMS);
}

void api_sockets_register(cluster *c)
{
    evhttp_set_cb(c->http, "/v1/sockets/join", on_join, c);
    evhttp_set_cb(c->http, "/v1/sockets/leave", on_leave, c);
    evhttp_set_cb(c->http, "/v1/sockets/disconnect", on_disconnect, c);
    evhttp_set_cb(c->http, "/v1/sockets", on_sockets, c);
    evhttp_set_cb(c->http, "/v1/rooms", on_rooms, c);
}
