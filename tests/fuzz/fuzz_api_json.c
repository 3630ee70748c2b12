/* fuzz_api_json: the body of the HTTP API's POST /broadcast
 * (adapters/redis/api_broadcast.c), as api_http.c reads it: one JSON object or
 * a batch (array) of them.
 *
 * Invariants: a refusal is a non-empty reason; an accepted broadcast names a
 * namespace that starts with '/', is no pattern and is configured, an event
 * that is not reserved, at most API_MAX_ROOMS non-empty rooms and excepts; and
 * the EVENT packet built from it decodes, as a client decodes it, to the very
 * same namespace and event name, with the same arguments (as JSON.stringify
 * writes them: integers beyond 2^53 are doubles there). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_broadcast.h"
#include "glob.h"
#include "sio_packet.h"

static const char *const namespaces[] = {"/", "/chat", "/org-*", "/a?c", NULL};

static void check_packet(const api_broadcast *b)
{
    json_t *data = api_broadcast_packet_data(b);
    if (!data)
        return; /* out of memory */
    sio_packet p = {SIO_EVENT, SIO_UNCONST(char *, b->nsp), -1, 0, data}, back;
    bytebuf text = BYTEBUF_INIT;
    static const sio_limits lim = {10, API_MAX_NAME_LEN};
    if (sio_packet_encode(&p, &text) ||
        sio_packet_decode((const char *)text.data, text.len, &lim, &back) != SIO_OK)
        abort();
    if (back.type != SIO_EVENT || strcmp(back.nsp, b->nsp) != 0 ||
        strcmp(sio_packet_event_name(&back), b->event) != 0)
        abort();
    bytebuf sent = BYTEBUF_INIT, got = BYTEBUF_INIT;
    if (sio_json_append(&sent, data) || sio_json_append(&got, back.data) || sent.len != got.len ||
        memcmp(sent.data, got.data, sent.len) != 0)
        abort();
    bytebuf_free(&sent);
    bytebuf_free(&got);
    sio_packet_clear(&back);
    bytebuf_free(&text);
    json_decref(data);
}

static void check_one(json_t *req)
{
    static api_broadcast b;
    const char *err = api_broadcast_parse(req, namespaces, &b);
    if (err) {
        if (!*err)
            abort();
        return;
    }
    if (b.nsp[0] != '/' || strpbrk(b.nsp, "*?") ||
        !glob_match_any(namespaces, b.nsp, strlen(b.nsp)) || !*b.event ||
        sio_is_reserved_event(b.event) || b.n_rooms > API_MAX_ROOMS || b.n_except > API_MAX_ROOMS)
        abort();
    for (size_t i = 0; i < b.n_rooms; i++)
        if (!*b.rooms[i])
            abort();
    for (size_t i = 0; i < b.n_except; i++)
        if (!*b.except[i])
            abort();
    check_packet(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *body = json_loadb((const char *)data, size, 0, &e);
    if (!body)
        return 0;
    if (json_is_array(body))
        for (size_t i = 0; i < json_array_size(body); i++)
            check_one(json_array_get(body, i));
    else
        check_one(body);
    json_decref(body);
    return 0;
}
