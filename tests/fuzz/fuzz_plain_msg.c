/* fuzz_plain_msg: libFuzzer target over the plain WebSocket message codec
 * (protocol/plain_msg.c), with the default field names and with
 * {"action","payload","rid"}.
 *
 * Malformed input returns a negative status and owns nothing. What decodes
 * has the promised shape: an event [name, data] with a name of 1..256 bytes,
 * a reply [] or [data], an id -1 or within 2^53, no placeholder, the arguments
 * within the depth the Socket.IO codec writes. Encoded back (an event as
 * SIO_EVENT, a reply as SIO_ACK) it decodes again to the same kind, name and
 * id, and encodes to the same bytes (a fixed point after one round). The
 * input as a query string gives an object of at most 64 non-empty keys. Any
 * broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plain_msg.h"

static const plain_fields fields[] = {
    {"event", "data", "id"},
    {"action", "payload", "rid"},
};

static void check_shape(const plain_in *in)
{
    if (!json_is_array(in->args) || in->id < -1 || in->id > 9007199254740991LL)
        abort();
    if (sio_count_placeholders(in->args, 0) != 0)
        abort();
    if (in->kind == PLAIN_EVENT) {
        const json_t *name = json_array_get(in->args, 0);
        size_t len = json_string_length(name);
        if (json_array_size(in->args) != 2 || !json_is_string(name) || len < 1 ||
            len > PLAIN_EVENT_MAX)
            abort();
        if (plain_single_binary(SIO_BINARY_EVENT, in->args, 1, 0))
            abort();
    } else if (in->kind != PLAIN_REPLY || json_array_size(in->args) > 1 || in->id < 0) {
        abort();
    }
}

static void encode_or_abort(const plain_in *in, const plain_fields *f, bytebuf *out)
{
    sio_packet_type type = in->kind == PLAIN_EVENT ? SIO_EVENT : SIO_ACK;
    if (plain_encode(type, in->id, in->args, 0, 0, f, out))
        abort();
}

static int same_name(const plain_in *a, const plain_in *b)
{
    if (a->kind != PLAIN_EVENT)
        return 1;
    const json_t *x = json_array_get(a->args, 0), *y = json_array_get(b->args, 0);
    return json_string_length(x) == json_string_length(y) &&
           memcmp(json_string_value(x), json_string_value(y), json_string_length(x)) == 0;
}

static void roundtrip(const plain_in *in, const plain_fields *f)
{
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    encode_or_abort(in, f, &first);
    plain_in again;
    if (plain_decode((const char *)first.data, first.len, f, &again) != PLAIN_OK)
        abort();
    if (again.kind != in->kind || again.id != in->id || !same_name(in, &again))
        abort();
    encode_or_abort(&again, f, &second);
    if (second.len != first.len || memcmp(second.data, first.data, first.len) != 0)
        abort();
    plain_in_clear(&again);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

static void decode_with(const uint8_t *data, size_t size, const plain_fields *f)
{
    plain_in in;
    plain_status st = plain_decode((const char *)data, size, f, &in);
    if (st != PLAIN_OK) {
        if (st >= 0 || in.args)
            abort();
        plain_in_clear(&in);
        return;
    }
    check_shape(&in);
    roundtrip(&in, f);
    plain_in_clear(&in);
}

static void query(const uint8_t *data, size_t size)
{
    json_t *obj = plain_query_object((const char *)data, size, 64);
    if (!json_is_object(obj) || json_object_size(obj) > 64)
        abort();
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
        if (!key[0] || !json_is_string(value))
            abort();
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        decode_with(data, size, &fields[i]);
    query(data, size);
    return 0;
}
