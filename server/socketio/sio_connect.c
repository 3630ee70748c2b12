/* sio_connect: a socket's way into its namespace. The middlewares run in
 * order; a synchronous one decides at once, an asynchronous one (sio_use_async)
 * suspends the socket until sio_connect_decide(). A suspended socket belongs
 * to its client's `connecting` list and to the server's `connects` map (by
 * token); it is not in the namespace yet: no rooms, no events, no broadcasts.
 * A restored session waiting for a middleware is copied (`held`), since what a
 * store hands over is borrowed for one call. When the client goes away first,
 * sio_connect_abandon() frees its suspended sockets and their tokens go stale. */
#include "sio_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- a restored session kept across a suspension -------------------------- */

struct sio_held {
    char sid[SIO_ID_LEN + 1];
    char **rooms;
    size_t n_rooms;
    json_t *data;
    sio_outpacket **missed;
    size_t n_missed;
    char covered[SIO_OFFSET_MAX];
};

static void held_free(sio_held *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_rooms; i++)
        free(h->rooms[i]);
    for (size_t i = 0; i < h->n_missed; i++)
        sio_outpacket_unref(h->missed[i]);
    free(h->rooms);
    free(h->missed);
    json_decref(h->data);
    free(h);
}

static int held_copy_rooms(sio_held *h, const sio_restored *res)
{
    if (res->n_rooms && !(h->rooms = calloc(res->n_rooms, sizeof(char *))))
        return -1;
    for (; h->n_rooms < res->n_rooms; h->n_rooms++)
        if (!(h->rooms[h->n_rooms] = strdup(res->rooms[h->n_rooms])))
            return -1;
    return 0;
}

static int held_copy_missed(sio_held *h, const sio_restored *res)
{
    if (res->n_missed && !(h->missed = calloc(res->n_missed, sizeof(sio_outpacket *))))
        return -1;
    for (; h->n_missed < res->n_missed; h->n_missed++)
        h->missed[h->n_missed] = sio_outpacket_ref(res->missed[h->n_missed]);
    return 0;
}

static sio_held *held_new(const sio_restored *res)
{
    sio_held *h = calloc(1, sizeof(*h));
    if (!h || held_copy_rooms(h, res) || held_copy_missed(h, res)) {
        held_free(h);
        return NULL;
    }
    snprintf(h->sid, sizeof h->sid, "%s", res->sid);
    h->data = res->data ? json_deep_copy(res->data) : NULL;
    snprintf(h->covered, sizeof h->covered, "%s", res->covered ? res->covered : "");
    return h;
}

static const sio_restored *held_view(const sio_held *h, sio_restored *v)
{
    *v = (sio_restored){h->sid,  (const char *const *)h->rooms, h->n_rooms, h->data,
                        h->missed, h->n_missed,                 h->covered};
    return v;
}

/* ---- refusing and admitting ------------------------------------------------- */

static int refuse(sio_socket *s, const char *message, json_t *data)
{
    s->nsp->connecting--;
    const char *text = message ? message : "unauthorized";
    json_t *err = s->client->v2 ? sio_v2_connect_error(text, data) : json_pack("{ss}", "message", text);
    if (err && data && !s->client->v2)
        json_object_set(err, "data", data);
    if (err)
        sio_socket_send_packet(s, SIO_CONNECT_ERROR, -1, err, NULL, 0);
    json_decref(err);
    json_decref(data);
    sio_socket_free(s);
    return -1;
}

/* A restored session: its rooms and data, then what it missed (socket.io
 * sends those before CONNECT; the client holds them until it is connected). */
static void restore_into(sio_socket *s, const sio_restored *res)
{
    for (size_t i = 0; i < res->n_rooms; i++)
        room_join(&s->nsp->rooms, s, &s->rooms, res->rooms[i], strlen(res->rooms[i]));
    if (json_is_object(res->data)) {
        json_decref(s->data);
        s->data = json_deep_copy(res->data);
    }
    for (size_t i = 0; i < res->n_missed; i++)
        sio_outpacket_send(res->missed[i], s->client->conn, 0);
    if (res->covered && strlen(res->covered) < SIO_OFFSET_MAX)
        strcpy(s->covered, res->covered);
}

/* v2 clients get a bare CONNECT ("40", "40/nsp,"). */
static json_t *connect_answer(const sio_socket *s)
{
    if (s->client->v2)
        return NULL;
    return s->pid[0] ? json_pack("{ssss}", "sid", s->id, "pid", s->pid)
                     : json_pack("{ss}", "sid", s->id);
}

static void link_connected(sio_socket *s)
{
    sio_namespace *nsp = s->nsp;
    s->nsp_next = nsp->first;
    if (nsp->first)
        nsp->first->nsp_prev = s;
    nsp->first = s;
    s->client_next = s->client->sockets;
    s->client->sockets = s;
    nsp->connecting--;
    nsp->srv->socket_count++;
    deadline_disarm(&s->client->connect_timer);
}

static int admit(sio_socket *s, const sio_restored *res)
{
    sio_namespace *nsp = s->nsp;
    if (sio_namespace_admit(nsp) || hashmap_put(&nsp->sockets, s->id, SIO_ID_LEN, s) ||
        room_join(&nsp->rooms, s, &s->rooms, s->id, SIO_ID_LEN) < 0) {
        hashmap_remove(&nsp->sockets, s->id, SIO_ID_LEN);
        return refuse(s, "server error", NULL);
    }
    link_connected(s);
    if (res)
        restore_into(s, res);
    json_t *data = connect_answer(s);
    sio_socket_send_packet(s, SIO_CONNECT, -1, data, NULL, 0);
    json_decref(data);
    sio_socket_touch(s);
    sio_plain_admitted(s); /* read from the next turn: after what on_connection sends */
    if (nsp->handlers->on_connection)
        nsp->handlers->on_connection(s, nsp->handlers->connection_ud);
    return 0;
}

/* ---- suspending ------------------------------------------------------------- */

static int suspend(sio_socket *s, const sio_middleware *next, const sio_restored *res)
{
    sio_server *io = s->nsp->srv;
    if (res && !(s->held = held_new(res)))
        return -1;
    s->resume = next;
    s->connect_token = ++io->next_connect_token;
    if (hashmap_put(&io->connects, (const char *)&s->connect_token, sizeof(uint64_t), s)) {
        held_free(s->held);
        s->held = NULL;
        return -1;
    }
    s->client_next = s->client->connecting;
    s->client->connecting = s;
    return 0;
}

static void unsuspend(sio_socket *s)
{
    sio_server *io = s->nsp->srv;
    hashmap_remove(&io->connects, (const char *)&s->connect_token, sizeof(uint64_t));
    for (sio_socket **p = &s->client->connecting; *p; p = &(*p)->client_next)
        if (*p == s) {
            *p = s->client_next;
            break;
        }
    s->client_next = NULL;
}

/* Runs the middlewares from `m`: 0 connected, -1 refused (freed), 1 suspended. */
static int run_from(sio_socket *s, const sio_middleware *m, const sio_restored *res)
{
    for (; m; m = m->next) {
        const char *message = NULL;
        json_t *data = NULL;
        if (m->async_fn) {
            if (suspend(s, m->next, res))
                return refuse(s, "server error", NULL);
            sio_connect_handle h = {s->connect_token};
            m->async_fn(s, s->auth, h, m->ud); /* may decide at once: s is not touched after */
            return 1;
        }
        if (m->fn(s, s->auth, &message, &data, m->ud))
            return refuse(s, message, data);
    }
    return admit(s, res);
}

int sio_socket_connect(sio_socket *s, const sio_restored *res)
{
    return run_from(s, s->nsp->handlers->middlewares, res);
}

/* ---- the public side ---------------------------------------------------------- */

sio_socket *sio_connect_socket(sio_server *io, sio_connect_handle h)
{
    return hashmap_get(&io->connects, (const char *)&h.token, sizeof(uint64_t));
}

int sio_connect_decide(sio_server *io, sio_connect_handle h, int accept, const char *message,
                       json_t *data)
{
    sio_socket *s = sio_connect_socket(io, h);
    if (!s) {
        json_decref(data);
        return -1;
    }
    unsuspend(s);
    sio_namespace *nsp = s->nsp;
    sio_held *held = s->held;
    s->held = NULL;
    sio_restored view;
    if (!accept)
        refuse(s, message, data);
    else {
        json_decref(data);
        run_from(s, s->resume, held ? held_view(held, &view) : NULL);
    }
    held_free(held);
    sio_namespace_release(nsp); /* a child nobody was admitted to goes */
    return 0;
}

int sio_connect_pending(const sio_client *c, const char *nsp)
{
    for (const sio_socket *s = c->connecting; s; s = s->client_next)
        if (strcmp(s->nsp->name, nsp) == 0)
            return 1;
    return 0;
}

void sio_connect_abandon(sio_client *c)
{
    while (c->connecting) {
        sio_socket *s = c->connecting;
        sio_namespace *nsp = s->nsp;
        unsuspend(s);
        held_free(s->held);
        nsp->connecting--;
        sio_socket_free(s);
        sio_namespace_release(nsp);
    }
}
