/* fuzz_cluster_msg: libFuzzer target over what connection state recovery and
 * REDIS_ADAPTER=streams read from Redis and from clients:
 *   - the streams adapter's BROADCAST data, as msgpack and as JSON text;
 *   - recovery offsets (offset_parse / offset_cmp) and session filtering.
 * Malformed input must be refused (negative) with nothing left to free.
 * Whatever decodes is encoded, decoded again, and encoded a second time to
 * the very same bytes (msgpack) or text (JSON). Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_msg.h"
#include "offset.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void msgpack_form(const uint8_t *data, size_t size)
{
    adapter_broadcast b;
    if (adapter_cluster_broadcast_decode(data, size, NULL, &b))
        return;
    bytebuf one = BYTEBUF_INIT, two = BYTEBUF_INIT;
    adapter_broadcast again;
    if (adapter_cluster_broadcast_encode(&b, &one) == 0) {
        check(adapter_cluster_broadcast_decode(one.data, one.len, NULL, &again) == 0);
        check(again.n_rooms == b.n_rooms && again.n_except == b.n_except &&
              again.packet.n_bins == b.packet.n_bins && again.packet.type == b.packet.type);
        check(adapter_cluster_broadcast_encode(&again, &two) == 0);
        check(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
        adapter_broadcast_clear(&again);
    }
    bytebuf_free(&one);
    bytebuf_free(&two);
    adapter_broadcast_clear(&b);
}

static void json_form(const uint8_t *data, size_t size)
{
    adapter_broadcast b;
    if (adapter_cluster_broadcast_decode_json((const char *)data, size, NULL, &b))
        return;
    char *one = adapter_cluster_broadcast_json(&b); /* NULL: out of memory only (no binaries) */
    adapter_broadcast again;
    if (one) {
        check(adapter_cluster_broadcast_decode_json(one, strlen(one), NULL, &again) == 0);
        char *two = adapter_cluster_broadcast_json(&again);
        check(two && strcmp(one, two) == 0);
        free(two);
        adapter_broadcast_clear(&again);
    }
    free(one);
    adapter_broadcast_clear(&b);
}

static void offsets(const uint8_t *data, size_t size)
{
    char text[96];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    uint64_t hi, lo;
    if (offset_parse(text, &hi, &lo) == 0) {
        check(strlen(text) < OFFSET_TEXT_MAX);
        check(offset_cmp(text, text) == 0);
        check(offset_cmp(text, "0-0") >= 0);
    }
    /* rooms: NUL-separated names in the input; the first half is the session */
    const char *names[16];
    size_t count = 0;
    for (const char *p = text; count < 16 && p < text + n; p += strlen(p) + 1)
        names[count++] = p;
    size_t half = count / 2;
    int in = session_included(names, half, names + half, count - half, NULL, 0);
    check(in == 0 || in == 1);
    check(!session_included(names, half, NULL, 0, names, half) || half == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_form(data, size);
    json_form(data, size);
    offsets(data, size);
    return 0;
}
