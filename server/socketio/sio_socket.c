/* sio_socket: one client's membership of one namespace: events and acks in
 * both directions, rooms, disconnect (the way in is sio_connect.c). */
#include "sio_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random_id.h"

void sio_generate_id(char out[SIO_ID_LEN + 1])
{
    random_id(out);
}

sio_socket *sio_socket_new(sio_namespace *nsp, sio_client *client, json_t *auth)
{
    sio_socket *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    do
        sio_generate_id(s->id);
    while (hashmap_get(&nsp->sockets, s->id, SIO_ID_LEN));
    s->nsp = nsp;
    nsp->connecting++;
    s->client = client;
    s->session = client->conn;
    s->msgpack = (uint8_t)sio_client_msgpack(client, NULL); /* decided by now, at the latest */
    s->auth = json_incref(auth);
    s->data = NULL; /* {} until asked for (sio_socket_data) */
    if (nsp->srv->store.restore && !client->plain && !client->v2) /* recovery is on; plain and v2 clients cannot recover */
        sio_generate_id(s->pid);
    return s;
}

void sio_socket_free(sio_socket *s)
{
    json_decref(s->auth);
    json_decref(s->data);
    free(s);
}

int sio_socket_send_packet(sio_socket *s, sio_packet_type type, int64_t id, const json_t *data,
                           const sio_bin *bins, size_t n_bins)
{
    const char *nsp = s->nsp->name; /* a msgpack client's rendering is made from the fields */
    sio_outpacket *p = s->msgpack ? sio_outpacket_encode_msgpack(nsp, type, id, data, bins, n_bins)
                                  : sio_outpacket_encode(nsp, type, id, data, bins, n_bins);
    if (!p)
        return -1;
    int rc = sio_outpacket_send(p, s->client->conn, 0);
    sio_outpacket_unref(p);
    return rc ? -1 : 0;
}

/* ---- incoming --------------------------------------------------------------- */

static void args_view(json_t *data, size_t skip, frame **att, uint32_t n_att, sio_bin *bins,
                      sio_args *out)
{
    json_t *rest = json_array();
    for (size_t i = skip; rest && i < json_array_size(data); i++)
        json_array_append(rest, json_array_get(data, i));
    for (uint32_t i = 0; i < n_att; i++)
        bins[i] = (sio_bin){frame_bytes(att[i]), att[i]->len};
    out->json = rest;
    out->bins = bins;
    out->n_bins = n_att;
}

/* Room for the views of n attachments: `stack` (BINS_ON_STACK of them) when
 * they fit, else the heap (NULL when out of memory). Release with bins_free. */
#define BINS_ON_STACK 16

static sio_bin *bins_for(uint32_t n, sio_bin *stack)
{
    return n <= BINS_ON_STACK ? stack : malloc(n * sizeof(sio_bin));
}

static void bins_free(sio_bin *bins, sio_bin *stack)
{
    if (bins != stack)
        free(bins);
}

static void on_event(sio_socket *s, sio_packet *p, frame **att, uint32_t n_att)
{
    json_t *name_json = json_array_get(p->data, 0); /* NULL when data is absent */
    if (!json_is_string(name_json) && !json_is_integer(name_json))
        return; /* "2" with no payload, or a non-integer number: nothing to dispatch */
    char numbuf[32];
    const char *event;
    if (json_is_string(name_json)) {
        event = json_string_value(name_json);
    } else { /* socket.io-parser allows a number as the event name */
        snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(name_json));
        event = numbuf;
    }
    sio_bin stack[BINS_ON_STACK], *bins = bins_for(n_att, stack);
    if (!bins)
        return;
    sio_args args;
    args_view(p->data, 1, att, n_att, bins, &args);
    sio_ack_handle ack_handle, *ack = NULL;
    if (p->id >= 0) {
        memcpy(ack_handle.socket_id, s->id, SIO_ID_LEN + 1);
        ack_handle.nsp_id = s->nsp->id;
        ack_handle.id = p->id;
        ack = &ack_handle;
    }
    const sio_event_handler *h = sio_namespace_handler(s->nsp, event);
    /* the handler may disconnect s: nothing below touches s */
    if (h)
        h->fn(s, event, &args, ack, h->ud);
    else if (s->nsp->handlers->on_any)
        s->nsp->handlers->on_any(s, event, &args, ack, s->nsp->handlers->any_ud);
    json_decref(args.json);
    bins_free(bins, stack);
}

static void free_ack(uv_handle_t *h)
{
    free(h->data);
}

static sio_pending_ack *take_ack(sio_socket *s, int64_t id)
{
    for (sio_pending_ack **p = &s->acks; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            sio_pending_ack *a = *p;
            *p = a->next;
            uv_timer_stop(&a->timer);
            uv_close((uv_handle_t *)&a->timer, free_ack);
            return a;
        }
    return NULL;
}

static void on_ack(sio_socket *s, sio_packet *p, frame **att, uint32_t n_att)
{
    sio_pending_ack *a = take_ack(s, p->id);
    if (!a)
        return; /* unknown or already timed out: ignored, as socket.io does */
    sio_bin stack[BINS_ON_STACK], *bins = bins_for(n_att, stack);
    if (!bins)
        return;
    sio_args args;
    args_view(p->data, 0, att, n_att, bins, &args);
    a->fn(s, 0, &args, a->ud);
    json_decref(args.json);
    bins_free(bins, stack);
}

void sio_socket_on_packet(sio_socket *s, sio_packet *p, frame **att, uint32_t n_att)
{
    switch (p->type) {
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        on_event(s, p, att, n_att);
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        if (p->id >= 0)
            on_ack(s, p, att, n_att);
        break;
    case SIO_DISCONNECT:
        sio_socket_close(s, "client namespace disconnect");
        break;
    default:
        break;
    }
}

/* ---- outgoing --------------------------------------------------------------- */

int sio_emit(sio_socket *s, const char *event, const sio_args *args)
{
    json_t *data = sio_event_data(event, args);
    if (!data)
        return -1;
    int rc = sio_socket_send_packet(s, SIO_EVENT, -1, data, args ? args->bins : NULL,
                                    args ? args->n_bins : 0);
    json_decref(data);
    return rc;
}

static void on_ack_timeout(uv_timer_t *t)
{
    sio_pending_ack *a = t->data;
    sio_socket *s = a->socket;
    take_ack(s, a->id); /* unlinks, closes the timer, frees after the callback */
    a->fn(s, 1, NULL, a->ud);
}

int sio_socket_expect_ack(sio_socket *s, int64_t id, uint32_t timeout_ms, sio_ack_fn fn, void *ud)
{
    sio_pending_ack *a = calloc(1, sizeof(*a));
    if (!a)
        return -1;
    a->socket = s;
    a->id = id;
    a->fn = fn;
    a->ud = ud;
    uv_timer_init(s->nsp->srv->loop, &a->timer);
    a->timer.data = a;
    if (timeout_ms)
        uv_timer_start(&a->timer, on_ack_timeout, timeout_ms, 0);
    a->next = s->acks;
    s->acks = a;
    return 0;
}

int sio_emit_with_ack(sio_socket *s, const char *event, const sio_args *args,
                      uint32_t timeout_ms, sio_ack_fn fn, void *ud)
{
    json_t *data = sio_event_data(event, args);
    if (!data)
        return -1;
    int64_t id = s->nsp->next_ack_id++;
    int rc = sio_socket_send_packet(s, SIO_EVENT, id, data, args ? args->bins : NULL,
                                    args ? args->n_bins : 0);
    json_decref(data);
    return rc ? -1 : sio_socket_expect_ack(s, id, timeout_ms, fn, ud);
}

int sio_ack(sio_server *io, const sio_ack_handle *ack, const sio_args *args)
{
    sio_namespace *nsp = sio_namespace_by_id(io, ack->nsp_id);
    sio_socket *s = nsp ? sio_socket_find(nsp, ack->socket_id) : NULL;
    if (!s)
        return -1;
    json_t *empty = NULL;
    const json_t *data = args && args->json ? args->json : (empty = json_array());
    int rc = sio_socket_send_packet(s, SIO_ACK, ack->id, data, args ? args->bins : NULL,
                                    args ? args->n_bins : 0);
    json_decref(empty);
    return rc;
}

/* ---- rooms and lifecycle ---------------------------------------------------- */

int sio_join(sio_socket *s, const char *name)
{
    int rc = room_join(&s->nsp->rooms, s, &s->rooms, name, strlen(name));
    if (rc > 0)
        sio_socket_touch(s);
    return rc < 0 ? -1 : 0;
}

int sio_leave(sio_socket *s, const char *name)
{
    if (room_leave(&s->nsp->rooms, &s->rooms, name, strlen(name)) > 0)
        sio_socket_touch(s);
    return 0;
}

static void unlink_from_client(sio_socket *s)
{
    for (sio_socket **p = &s->client->sockets; *p; p = &(*p)->client_next)
        if (*p == s) {
            *p = s->client_next;
            return;
        }
}

/* The store hears of the end while the socket still has its rooms. */
static void end_session(sio_socket *s, const char *reason)
{
    sio_recovery_store *st = &s->nsp->srv->store;
    sio_recovery_unlist(s);
    if (st->session && s->pid[0])
        st->session(st->ctx, s, sio_recoverable_reason(reason) ? SIO_SESSION_PERSIST : SIO_SESSION_END);
}

void sio_socket_close(sio_socket *s, const char *reason)
{
    sio_namespace *nsp = s->nsp;
    end_session(s, reason);
    room_leave_all(&nsp->rooms, &s->rooms);
    hashmap_remove(&nsp->sockets, s->id, SIO_ID_LEN);
    if (s->nsp_prev)
        s->nsp_prev->nsp_next = s->nsp_next;
    else if (nsp->first == s)
        nsp->first = s->nsp_next;
    if (s->nsp_next)
        s->nsp_next->nsp_prev = s->nsp_prev;
    unlink_from_client(s);
    nsp->srv->socket_count--;
    while (s->acks) { /* pending acks end with an error, as socket.io rejects them */
        sio_pending_ack *a = take_ack(s, s->acks->id);
        a->fn(NULL, 1, NULL, a->ud);
    }
    if (nsp->handlers->on_disconnect)
        nsp->handlers->on_disconnect(s, reason, nsp->handlers->disconnect_ud);
    sio_socket_free(s);
    sio_namespace_release(nsp);
}

void sio_disconnect(sio_socket *s, int close_transport)
{
    if (close_transport) {
        eio_session_close(s->client->conn, "forced server close");
        return;
    }
    sio_socket_send_packet(s, SIO_DISCONNECT, -1, NULL, NULL, 0);
    sio_socket_close(s, "server namespace disconnect");
}

const char *sio_socket_id(const sio_socket *s) { return s->id; }
sio_namespace *sio_socket_namespace(const sio_socket *s) { return s->nsp; }
json_t *sio_socket_auth(const sio_socket *s) { return s->auth; }
const eio_request_info *sio_socket_request(const sio_socket *s)
{
    return eio_session_request(s->client->conn);
}
void sio_socket_set_user(sio_socket *s, void *user) { s->user = user; }
int sio_socket_recovered(const sio_socket *s) { return s->recovered; }
json_t *sio_socket_data(const sio_socket *s)
{
    sio_socket *m = SIO_UNCONST(sio_socket *, s);
    if (!m->data)
        m->data = json_object();
    return m->data;
}

int sio_socket_has_data(const sio_socket *s)
{
    return s->data && json_object_size(s->data) > 0;
}

void sio_socket_set_data(sio_socket *s, json_t *data)
{
    if (data) {
        json_decref(s->data);
        s->data = json_is_object(data) ? data : (json_decref(data), NULL);
    }
    sio_socket_touch(s);
}
void *sio_socket_user(const sio_socket *s) { return s->user; }

sio_socket *sio_socket_find(sio_namespace *nsp, const char *id)
{
    return hashmap_get(&nsp->sockets, id, strlen(id));
}

const char *sio_socket_room_next(const sio_socket *s, const void **it)
{
    const membership *m = *it ? ((const membership *)*it)->member_next : s->rooms.head;
    *it = m;
    return m ? m->room->name : NULL;
}

const char **sio_socket_room_names(const sio_socket *s, size_t *n)
{
    size_t cap = sio_socket_room_count(s), count = 0;
    const char **names = cap ? malloc(cap * sizeof(*names)) : NULL;
    const char *name;
    for (const void *it = NULL; names && count < cap && (name = sio_socket_room_next(s, &it));)
        names[count++] = name;
    *n = names ? count : 0;
    return names;
}

size_t sio_socket_room_count(const sio_socket *s)
{
    return s->rooms.count;
}

int sio_socket_in_room(const sio_socket *s, const char *name)
{
    return room_is_member(&s->rooms, name, strlen(name));
}
