/* fuzz_backend_answer: what an application backend answers sio-server
 * (protocol/backend_wire.c), for every request type: the first input byte
 * picks the type, the rest is the body.
 *
 * Invariants: a refusal has a non-empty reason and no answer; an accepted
 * connect answer has a boolean "allow" and, when allowed, "rooms" a list of
 * at most max_rooms non-empty strings and an "expires_at" that is a positive
 * integer when present; an accepted event answer has an "ack" array whose
 * placeholders all name a decoded attachment; and re-encoding an answer as a
 * request (base64 attachments included) succeeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend_wire.h"
#include "sio_packet.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static const backend_limits lim = {8, 8, 64, 4, 4};

static void check_connect(json_t *a)
{
    check(json_is_boolean(json_object_get(a, "allow")));
    if (!json_is_true(json_object_get(a, "allow")))
        return;
    json_t *rooms = json_object_get(a, "rooms"), *exp = json_object_get(a, "expires_at");
    check(!rooms || (json_is_array(rooms) && json_array_size(rooms) <= lim.max_rooms));
    for (size_t i = 0; i < json_array_size(rooms); i++)
        check(json_string_length(json_array_get(rooms, i)) > 0);
    check(!exp || (json_is_integer(exp) && json_integer_value(exp) > 0));
}

static void check_event(json_t *a, const backend_attachments *att)
{
    json_t *ack = json_object_get(a, "ack");
    check(json_is_array(ack) && sio_count_placeholders(ack, att->n) >= 0);
    check(!json_object_get(a, "attachments"));
    backend_bin bins[64];
    for (uint32_t i = 0; i < att->n; i++)
        bins[i] = (backend_bin){att->buf.data + att->offsets[i], att->lens[i]};
    bytebuf out = BYTEBUF_INIT;
    check(backend_request_encode(a, bins, att->n, &out) == 0 && out.len > 0);
    bytebuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    backend_type t = (backend_type)(1 + data[0] % 6);
    json_t *a = NULL;
    backend_attachments att = {.buf = BYTEBUF_INIT};
    char err[128] = "";
    int rc = backend_answer_decode(t, (const char *)data + 1, size - 1, &lim, &a, &att, err,
                                   sizeof err);
    if (rc) {
        check(!a && err[0]);
    } else if (t == BACKEND_CONNECT || t == BACKEND_REFRESH) {
        check_connect(a);
    } else if (t == BACKEND_EVENT || t == BACKEND_SERVER_SIDE_EMIT) {
        check_event(a, &att);
    }
    json_decref(a);
    bytebuf_free(&att.buf);
    return 0;
}
