/* test_messages: the messages the edge and cluster threads exchange
 * (server/core/cluster_msg.c) and the encoded-once packets they carry
 * (server/core/sio_outpacket.c).
 *
 * Covers what cluster_msg.h and sio_outpacket.h promise:
 *   - every constructor copies its strings and buffers: overwriting the
 *     caller's strings, pointer arrays and payloads afterwards leaves the
 *     message unchanged (and its strings live in its own allocation, not the
 *     caller's); the header starts with one reference, next NULL, the type
 *     set, and `bytes` (the mailbox's measure) covering the allocation;
 *   - broadcast_msg_new with no rooms/except (NULL, 0), one, and many (1000
 *     rooms, 500 except), with empty-string rooms; it takes a new reference
 *     on the packet, released when the message is freed; its `bytes` also
 *     counts the packet's frames;
 *   - room_msg_new for MSG_NAMESPACE (room NULL) and MSG_ROOM;
 *   - broadcast_msg_set_data: the packet's data (the edge's publish), owned
 *     by the message, released with it and counted in `bytes`;
 *   - request_msg_new with rooms, except, targets, request id and sid (also
 *     all empty), and the packet reference a caller attaches afterwards
 *     (redis_adapter.c's ack broadcast), released with the message;
 *   - reply_msg (the edge's plain-data answers): names, socket snapshots and
 *     an ack's arguments and attachments are copied (or, for JSON, owned),
 *     live in the message and count in `bytes`; freed with it;
 *   - response_msg_new / metrics_msg_new copy binary payloads (NUL bytes
 *     included), metrics carry their token and type;
 *   - refcounting: ref/unref from one thread, and the last of two threads'
 *     concurrent unrefs frees exactly once (ASan reports a double free or a
 *     leak; the CI runs this with detect_leaks=1); unref(NULL) is harmless;
 *   - sio_outpacket_encode: "4" + the Socket.IO text, attachments as binary
 *     frames copied from the caller, EVENT becoming BINARY_EVENT with bins,
 *     and the frames released exactly when the last packet reference goes.
 * The two bugs it found (a request packet not counted in hdr.bytes, a NULL
 * memcpy for an empty metrics request) are fixed; their checks stay. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "cluster_msg.h"
#include "sio_outpacket.h"

CHECK_STATE;

/* cluster_msg.h no longer declares a ref function (only cluster_msg_unref):
 * take an extra reference on the public counter, as the mailbox's holders do. */
static cluster_msg *msg_ref(cluster_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

static unsigned refs(cluster_msg *m) { return atomic_load(&m->refs); }
static unsigned prefs(sio_outpacket *p) { return atomic_load(&p->refs); }
static unsigned frefs(frame *f) { return atomic_load(&f->refs); }

/* 1 when p lies inside [base, base + size). */
static int inside(const void *p, const void *base, size_t size)
{
    return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + size;
}

/* A packet ["ev", 1] for namespace "/", with optional attachments. */
static sio_outpacket *packet(const sio_bin *bins, size_t n_bins)
{
    json_t *data = json_pack("[si]", "ev", 1);
    sio_outpacket *p = sio_outpacket_encode("/", SIO_EVENT, -1, data, bins, n_bins);
    json_decref(data);
    return p;
}

static void test_outpacket(void)
{
    sio_outpacket *p = packet(NULL, 0);
    CHECK(p && prefs(p) == 1 && p->n_frames == 1);
    CHECK_MEM(frame_cbytes(p->frames[0]), p->frames[0]->len, "42[\"ev\",1]");
    CHECK(!p->frames[0]->binary);

    json_t *data = json_pack("[s{sbsi}]", "ev", "_placeholder", 1, "num", 0);
    uint8_t raw[5] = {0, 1, 2, 3, 4};
    sio_bin bins[2] = {{raw, sizeof(raw)}, {"", 0}};
    sio_outpacket *b = sio_outpacket_encode("/chat", SIO_EVENT, 7, data, bins, 2);
    json_decref(data);
    raw[0] = 0xff; /* the frame holds its own copy */
    CHECK(b && b->n_frames == 3);
    CHECK_MEM(frame_cbytes(b->frames[0]), b->frames[0]->len,
              "452-/chat,7[\"ev\",{\"_placeholder\":true,\"num\":0}]");
    CHECK(b->frames[1]->binary && b->frames[1]->len == 5 && frame_cbytes(b->frames[1])[0] == 0);
    CHECK(b->frames[2]->binary && b->frames[2]->len == 0);

    /* the frames live exactly as long as the last packet reference */
    frame *held = frame_ref(b->frames[1]);
    CHECK(frefs(held) == 2);
    CHECK(sio_outpacket_ref(b) == b && prefs(b) == 2);
    sio_outpacket_unref(b);
    CHECK(prefs(b) == 1 && frefs(held) == 2);
    sio_outpacket_unref(b);
    CHECK(frefs(held) == 1); /* released by the packet, once */
    frame_unref(held);
    sio_outpacket_unref(NULL);
    sio_outpacket_unref(p);
}

static void test_room_msg(void)
{
    char nsp[16] = "/chat", room[16] = "lobby";
    room_msg *m = room_msg_new(MSG_ROOM, nsp, room, 1);
    CHECK(m != NULL);
    strcpy(nsp, "/XXXX");
    strcpy(room, "XXXXX");
    CHECK(m->hdr.type == MSG_ROOM && m->created == 1);
    CHECK(strcmp(m->nsp, "/chat") == 0 && strcmp(m->room, "lobby") == 0);
    CHECK(m->nsp != nsp && m->room != room);
    CHECK(m->hdr.next == NULL && refs(&m->hdr) == 1);
    CHECK(m->hdr.bytes >= sizeof(room_msg) + 6 + 6);
    CHECK(inside(m->nsp, m, m->hdr.bytes) && inside(m->room, m, m->hdr.bytes));
    cluster_msg_unref(&m->hdr);

    room_msg *gone = room_msg_new(MSG_NAMESPACE, "/dyn-1", NULL, 0);
    CHECK(gone && gone->hdr.type == MSG_NAMESPACE && gone->room == NULL && gone->created == 0);
    CHECK(strcmp(gone->nsp, "/dyn-1") == 0);
    cluster_msg_unref(&gone->hdr);

    room_msg *empty = room_msg_new(MSG_ROOM, "", "", 0);
    CHECK(empty && strcmp(empty->nsp, "") == 0 && empty->room && strcmp(empty->room, "") == 0);
    cluster_msg_unref(&empty->hdr);
}

static void test_broadcast_msg(void)
{
    sio_outpacket *p = packet(NULL, 0);

    /* no rooms, no except */
    broadcast_msg *m = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, p);
    CHECK(m && m->hdr.type == MSG_BROADCAST && refs(&m->hdr) == 1 && m->hdr.next == NULL);
    CHECK(m->n_rooms == 0 && m->n_except == 0 && strcmp(m->nsp, "/") == 0);
    CHECK(m->packet == p && prefs(p) == 2); /* a new reference on the packet */
    CHECK(m->is_volatile == 0 && m->publish_us == 0);
    size_t frames_size = sizeof(frame) + FRAME_HEADROOM + p->frames[0]->len;
    CHECK(m->hdr.bytes >= sizeof(broadcast_msg) + 2 + frames_size);
    cluster_msg_unref(&m->hdr);
    CHECK(prefs(p) == 1); /* released with the message */

    /* one room, volatile */
    const char *one[] = {"r"};
    m = broadcast_msg_new("/a", one, 1, NULL, 0, 1, p);
    CHECK(m && m->n_rooms == 1 && strcmp(m->rooms[0], "r") == 0 && m->is_volatile == 1);
    CHECK(m->rooms[0] != one[0] && m->rooms != one);
    cluster_msg_unref(&m->hdr);

    /* many rooms and except, built in caller buffers that are then destroyed */
    enum { NR = 1000, NE = 500 };
    char (*rbuf)[24] = malloc(NR * sizeof(*rbuf));
    char (*ebuf)[24] = malloc(NE * sizeof(*ebuf));
    const char **rooms = malloc(NR * sizeof(*rooms));
    const char **except = malloc(NE * sizeof(*except));
    for (int i = 0; i < NR; i++) {
        snprintf(rbuf[i], sizeof(rbuf[i]), i == 17 ? "" : "room-%d", i); /* one empty name */
        rooms[i] = rbuf[i];
    }
    for (int i = 0; i < NE; i++) {
        snprintf(ebuf[i], sizeof(ebuf[i]), "sid-%d", i);
        except[i] = ebuf[i];
    }
    char nsp[8] = "/big";
    m = broadcast_msg_new(nsp, rooms, NR, except, NE, 0, p);
    CHECK(m != NULL);
    /* wreck every caller input */
    memset(rbuf, 'X', NR * sizeof(*rbuf));
    memset(ebuf, 'Y', NE * sizeof(*ebuf));
    for (int i = 0; i < NR; i++)
        rooms[i] = "changed";
    for (int i = 0; i < NE; i++)
        except[i] = "changed";
    strcpy(nsp, "/zzz");
    free(rbuf);
    free(ebuf);
    free(rooms);
    free(except);
    CHECK(m->n_rooms == NR && m->n_except == NE && strcmp(m->nsp, "/big") == 0);
    int rooms_ok = 1, except_ok = 1, in_alloc = 1;
    char want[24];
    for (int i = 0; i < NR; i++) {
        snprintf(want, sizeof(want), i == 17 ? "" : "room-%d", i);
        if (strcmp(m->rooms[i], want))
            rooms_ok = 0;
        if (!inside(m->rooms[i], m, m->hdr.bytes))
            in_alloc = 0;
    }
    for (int i = 0; i < NE; i++) {
        snprintf(want, sizeof(want), "sid-%d", i);
        if (strcmp(m->except[i], want))
            except_ok = 0;
        if (!inside(m->except[i], m, m->hdr.bytes))
            in_alloc = 0;
    }
    CHECK(rooms_ok && except_ok && in_alloc);
    CHECK(inside(m->rooms, m, m->hdr.bytes) && inside(m->except, m, m->hdr.bytes));
    CHECK(m->hdr.bytes >= sizeof(broadcast_msg) + (NR + NE) * sizeof(char *) + NR * 8 + NE * 5);
    CHECK(prefs(p) == 2);
    cluster_msg_unref(&m->hdr);
    CHECK(prefs(p) == 1);

    /* `bytes` grows with the packet's frames (the mailbox bounds memory) */
    static uint8_t payload[100000];
    sio_bin bin = {payload, sizeof(payload)};
    json_t *data = json_pack("[s{sbsi}]", "ev", "_placeholder", 1, "num", 0);
    sio_outpacket *bp = sio_outpacket_encode("/", SIO_EVENT, -1, data, &bin, 1);
    json_decref(data);
    broadcast_msg *small = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, p);
    broadcast_msg *large = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, bp);
    CHECK(small && large && large->hdr.bytes >= small->hdr.bytes + sizeof(payload));
    cluster_msg_unref(&small->hdr);
    cluster_msg_unref(&large->hdr);
    sio_outpacket_unref(bp);

    /* the message keeps the packet alive after the caller's reference goes */
    sio_outpacket *q = packet(NULL, 0);
    m = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, q);
    sio_outpacket_unref(q);
    CHECK(prefs(m->packet) == 1);
    CHECK_MEM(frame_cbytes(m->packet->frames[0]), m->packet->frames[0]->len, "42[\"ev\",1]");
    cluster_msg_unref(&m->hdr); /* frees the packet too: ASan checks */

    /* the edge's publish also carries its data, owned by the message */
    m = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, p);
    CHECK(m && m->data == NULL);
    uint32_t before = m->hdr.bytes;
    json_t *ev = json_pack("[si]", "ev", 1);
    broadcast_msg_set_data(m, ev);
    CHECK(m->data == ev && ev->refcount == 1 && m->hdr.bytes > before);
    cluster_msg_unref(&m->hdr); /* releases the data too: the leak check */

    sio_outpacket_unref(p);
}

static void test_reply_names(void)
{
    char nsp[8] = "/r", rid[8] = "req-9", name[16] = "room-a";
    reply_msg *m = reply_msg_new(CLUSTER_REPLY_ROOMS, nsp, rid);
    CHECK(m && m->hdr.type == MSG_REPLY && m->kind == CLUSTER_REPLY_ROOMS && refs(&m->hdr) == 1);
    strcpy(nsp, "/X");
    strcpy(rid, "XXXXX");
    CHECK(strcmp(m->nsp, "/r") == 0 && strcmp(m->request_id, "req-9") == 0);
    CHECK(inside(m->nsp, m, sizeof(reply_msg) + 16) && m->n_names == 0);
    uint32_t before = m->hdr.bytes;
    int ok = 1;
    for (int i = 0; i < 100; i++) /* past the first capacity */
        ok &= reply_msg_add_name(m, name, 4) == 0; /* "room" */
    strcpy(name, "XXXXXX");
    CHECK(ok && m->n_names == 100 && strcmp(m->names[0], "room") == 0 &&
          strcmp(m->names[99], "room") == 0 && m->names[0] != name);
    CHECK(m->hdr.bytes >= before + 100 * 5);
    cluster_msg_unref(&m->hdr);

    m = reply_msg_new(CLUSTER_REPLY_CLIENT_COUNT, "/", "");
    CHECK(m && strcmp(m->request_id, "") == 0 && m->client_count == 0 && m->names == NULL);
    cluster_msg_unref(&m->hdr);
}

static void test_reply_sockets(void)
{
    char id[8] = "sid-1", r0[8] = "sid-1", r1[8] = "lobby", ua[8] = "ua";
    char addr[16] = "127.0.0.1", query[16] = "EIO=4", origin[8] = "", url[16] = "/socket.io/";
    const char *rooms[] = {r0, r1};
    socket_handshake hs = {addr, query, ua, origin, url, 1700000000123};
    reply_msg *m = reply_msg_new(CLUSTER_REPLY_SOCKETS, "/", "req-1");
    json_t *auth = json_pack("{si}", "token", 1), *data = json_pack("{ss}", "name", "alice");
    CHECK(m && reply_msg_add_socket(m, id, rooms, 2, &hs, auth, data) == 0);
    CHECK(reply_msg_add_socket(m, "sid-2", NULL, 0, &hs, NULL, NULL) == 0);
    /* wreck the caller's inputs */
    strcpy(id, "XXXX");
    r0[0] = r1[0] = ua[0] = addr[0] = query[0] = url[0] = 'Z';
    rooms[0] = rooms[1] = "changed";
    hs.issued_ms = 0;
    CHECK(m->n_sockets == 2);
    const socket_snapshot *s = m->sockets[0];
    CHECK(strcmp(s->id, "sid-1") == 0 && s->n_rooms == 2 && strcmp(s->rooms[0], "sid-1") == 0 &&
          strcmp(s->rooms[1], "lobby") == 0);
    CHECK(strcmp(s->remote_addr, "127.0.0.1") == 0 && strcmp(s->query, "EIO=4") == 0 &&
          strcmp(s->user_agent, "ua") == 0 && strcmp(s->origin, "") == 0 &&
          strcmp(s->url, "/socket.io/") == 0 && s->issued_ms == 1700000000123);
    CHECK(s->auth == auth && auth->refcount == 1); /* the caller's reference, taken */
    CHECK(s->data == data && data->refcount == 1);
    CHECK(m->sockets[1]->n_rooms == 0 && m->sockets[1]->auth == NULL && m->sockets[1]->data == NULL);
    CHECK(m->hdr.bytes >= sizeof(reply_msg) + 2 * sizeof(socket_snapshot));
    cluster_msg_unref(&m->hdr); /* frees snapshots and auth: ASan and the leak check */
}

static void test_reply_ack(void)
{
    uint8_t raw[4] = {5, 0, 1, 255};
    sio_bin bins[2] = {{raw, sizeof(raw)}, {"", 0}};
    json_t *args = json_pack("[{s{sbsi}}]", "bin", "_placeholder", 1, "num", 0);
    reply_msg *m = reply_msg_new(CLUSTER_REPLY_ACK, "/", "req-ack");
    CHECK(m && reply_msg_set_ack(m, args, bins, 2) == 0);
    raw[0] = 0xee; /* the message holds its own copy */
    CHECK(m->args == args && args->refcount == 1 && m->n_bins == 2);
    CHECK(m->bins[0].len == 4 && memcmp(m->bins[0].data, "\x05\x00\x01\xff", 4) == 0);
    CHECK(m->bins[0].data != raw && m->bins[1].len == 0);
    CHECK(m->hdr.bytes >= sizeof(reply_msg) + sizeof(raw));
    cluster_msg_unref(&m->hdr);

    /* an ack with no arguments */
    m = reply_msg_new(CLUSTER_REPLY_ACK, "/", "req-ack");
    CHECK(m && reply_msg_set_ack(m, NULL, NULL, 0) == 0 && m->args == NULL && m->n_bins == 0);
    cluster_msg_unref(&m->hdr);
}

static void test_request_msg(void)
{
    char nsp[8] = "/r", rid[16] = "req-1", sid[16] = "sid-A";
    char r0[8] = "a", r1[8] = "b", e0[8] = "c", t0[8] = "d", t1[8] = "e", t2[8] = "f";
    const char *rooms[] = {r0, r1}, *except[] = {e0}, *targets[] = {t0, t1, t2};
    request_msg *m = request_msg_new(CLUSTER_REQ_LEAVE, nsp, rid, rooms, 2, except, 1, targets, 3,
                                     sid, 1);
    CHECK(m != NULL);
    strcpy(nsp, "/X");
    strcpy(rid, "XXXXX");
    strcpy(sid, "XXXXX");
    r0[0] = r1[0] = e0[0] = t0[0] = t1[0] = t2[0] = 'Z';
    rooms[0] = except[0] = targets[0] = "changed";
    CHECK(m->hdr.type == MSG_REQUEST && refs(&m->hdr) == 1 && m->hdr.next == NULL);
    CHECK(m->request_type == CLUSTER_REQ_LEAVE && m->close == 1);
    CHECK(strcmp(m->nsp, "/r") == 0 && strcmp(m->request_id, "req-1") == 0 &&
          strcmp(m->sid, "sid-A") == 0);
    CHECK(m->n_rooms == 2 && strcmp(m->rooms[0], "a") == 0 && strcmp(m->rooms[1], "b") == 0);
    CHECK(m->n_except == 1 && strcmp(m->except[0], "c") == 0);
    CHECK(m->n_targets == 3 && strcmp(m->targets[0], "d") == 0 && strcmp(m->targets[1], "e") == 0 &&
          strcmp(m->targets[2], "f") == 0);
    CHECK(m->packet == NULL && m->ack_id == 0 && m->timeout_ms == 0);
    CHECK(inside(m->targets[2], m, m->hdr.bytes) && inside(m->sid, m, m->hdr.bytes));
    CHECK(m->hdr.bytes >= sizeof(request_msg) + 6 * sizeof(char *));
    cluster_msg_unref(&m->hdr);

    /* everything empty */
    m = request_msg_new(CLUSTER_REQ_SOCKETS, "/", "", NULL, 0, NULL, 0, NULL, 0, "", 0);
    CHECK(m && m->n_rooms == 0 && m->n_except == 0 && m->n_targets == 0);
    CHECK(strcmp(m->request_id, "") == 0 && strcmp(m->sid, "") == 0 && m->packet == NULL);
    cluster_msg_unref(&m->hdr); /* no packet: nothing else to release */

    /* an ack broadcast: the caller hands the message its packet reference */
    sio_outpacket *p = packet(NULL, 0);
    sio_outpacket_ref(p); /* the test's own, to watch the count */
    m = request_msg_new(CLUSTER_REQ_BROADCAST_ACK, "/", "req-2", NULL, 0, NULL, 0, NULL, 0, "", 0);
    m->packet = p; /* as redis_adapter.c does */
    m->ack_id = 42;
    msg_ref(&m->hdr);
    cluster_msg_unref(&m->hdr);
    CHECK(prefs(p) == 2);
    cluster_msg_unref(&m->hdr);
    CHECK(prefs(p) == 1); /* released once with the message */
    sio_outpacket_unref(p);

    /* found by this test: a request's packet, attached after construction,
     * must count in hdr.bytes (the mailbox's byte bound) */
    {
        static uint8_t big[100000];
        sio_bin bin = {big, sizeof(big)};
        json_t *d = json_pack("[s{sbsi}]", "ev", "_placeholder", 1, "num", 0);
        sio_outpacket *bp = sio_outpacket_encode("/", SIO_EVENT, 1, d, &bin, 1);
        json_decref(d);
        request_msg *r = request_msg_new(CLUSTER_REQ_BROADCAST_ACK, "/", "req-3", NULL, 0, NULL, 0,
                                         NULL, 0, "", 0);
        request_msg_set_packet(r, bp);
        CHECK(r->hdr.bytes >= sizeof(big));
        cluster_msg_unref(&r->hdr);
    }
}

static void test_response_msg(void)
{
    uint8_t payload[8] = {'a', 0, 'b', 0, 0, 'c', 0xff, 0};
    char nsp[8] = "/n";
    response_msg *m = response_msg_new(nsp, payload, sizeof(payload));
    CHECK(m != NULL);
    memset(payload, 'X', sizeof(payload));
    strcpy(nsp, "/X");
    CHECK(m->hdr.type == MSG_RESPONSE && refs(&m->hdr) == 1 && m->hdr.next == NULL);
    CHECK(m->len == 8 && memcmp(m->payload, "a\0b\0\0c\xff\0", 8) == 0);
    CHECK(strcmp(m->nsp, "/n") == 0 && m->payload != payload);
    CHECK(inside(m->payload + 7, m, m->hdr.bytes));
    CHECK(m->hdr.bytes >= sizeof(response_msg) + 3 + 8);
    cluster_msg_unref(&m->hdr);

    /* zero bytes, from a valid pointer */
    m = response_msg_new("/", "", 0);
    CHECK(m && m->len == 0 && strcmp(m->nsp, "/") == 0);
    cluster_msg_unref(&m->hdr);

    /* metrics: reply text with its token, and a request of length 0 */
    const char *text = "sio_up 1\n";
    response_msg *r = metrics_msg_new(0x1234567890ULL, text, strlen(text));
    CHECK(r && r->hdr.type == MSG_METRICS && r->token == 0x1234567890ULL);
    CHECK(r->len == strlen(text) && memcmp(r->payload, text, r->len) == 0 && r->payload != (const uint8_t *)text);
    CHECK(strcmp(r->nsp, "") == 0);
    cluster_msg_unref(&r->hdr);
    r = metrics_msg_new(5, "", 0);
    CHECK(r && r->hdr.type == MSG_METRICS && r->token == 5 && r->len == 0);
    cluster_msg_unref(&r->hdr);

    /* found by this test: metrics_msg_new(token, NULL, 0) (a request) was
     * memcpy(p, NULL, 0), which UBSan aborts on */
    r = metrics_msg_new(6, NULL, 0);
    CHECK(r && r->len == 0 && r->token == 6);
    cluster_msg_unref(&r->hdr);
}

static void test_refcount(void)
{
    room_msg *m = room_msg_new(MSG_ROOM, "/", "x", 1);
    cluster_msg *h = &m->hdr;
    CHECK(msg_ref(h) == h && refs(h) == 2);
    msg_ref(h);
    CHECK(refs(h) == 3);
    cluster_msg_unref(h);
    cluster_msg_unref(h);
    CHECK(refs(h) == 1 && strcmp(m->room, "x") == 0); /* still alive */
    cluster_msg_unref(h);                             /* freed: ASan checks no use after */
    cluster_msg_unref(NULL);
}

/* Two threads drop their references to the same messages at once: each
 * message (and its packet) must be freed exactly once. They start every round
 * together (a barrier) and walk the same messages in the same order, so both
 * decrements of one message really race: a lost decrement leaks (the leak
 * check), a doubled one frees twice (ASan), either moves the packet count.
 * Catching a non-atomic count this way is probabilistic (the race window is
 * a few instructions); the SIO_TSAN build is the thorough check. */
enum { ROUNDS = 1000, PER_ROUND = 64 };
static cluster_msg *shared[PER_ROUND];
static pthread_barrier_t round_start, round_end;

static void *unref_rounds(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&round_start);
        for (int i = 0; i < PER_ROUND; i++)
            cluster_msg_unref(shared[i]);
        pthread_barrier_wait(&round_end);
    }
    return NULL;
}

static void test_concurrent_unref(void)
{
    sio_outpacket *p = packet(NULL, 0);
    pthread_barrier_init(&round_start, NULL, 3);
    pthread_barrier_init(&round_end, NULL, 3);
    pthread_t a, b;
    pthread_create(&a, NULL, unref_rounds, NULL);
    pthread_create(&b, NULL, unref_rounds, NULL);
    int counts_ok = 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PER_ROUND; i++) {
            broadcast_msg *m = broadcast_msg_new("/", NULL, 0, NULL, 0, 0, p);
            shared[i] = msg_ref(&m->hdr); /* two references each, one per thread */
        }
        if (prefs(p) != 1 + PER_ROUND)
            counts_ok = 0;
        pthread_barrier_wait(&round_start);
        pthread_barrier_wait(&round_end);
        if (prefs(p) != 1) /* every message released its packet reference once */
            counts_ok = 0;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(counts_ok);
    pthread_barrier_destroy(&round_start);
    pthread_barrier_destroy(&round_end);
    sio_outpacket_unref(p);
}

int main(void)
{
    test_outpacket();
    test_room_msg();
    test_broadcast_msg();
    test_request_msg();
    test_response_msg();
    test_reply_names();
    test_reply_sockets();
    test_reply_ack();
    test_refcount();
    test_concurrent_unref();
    return CHECK_DONE("test_messages");
}
