/* test_sio_outpacket_msgpack: the msgpack rendering of an encoded packet
 * (server/core/sio_outpacket.c, sio_outpacket_msgpack): one binary frame
 * holding {type, data, nsp[, id]} with the attachments as bins, made once per
 * packet whoever asks (the process counter moves by one), a recovery offset
 * kept as the last argument, placeholders replaced only in binary packets,
 * and a packet without a msgpack form rendered to no frame, once. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio_msgpack.h"
#include "sio_outpacket.h"

CHECK_STATE;

static char *text_of(const json_t *v)
{
    bytebuf out = BYTEBUF_INIT;
    if (!v || sio_json_append(&out, v) || bytebuf_append_byte(&out, '\0')) {
        bytebuf_free(&out);
        return strdup("(none)");
    }
    return (char *)out.data;
}

/* Decodes the rendering's one frame as a client would; checks it. */
static void check_rendering(const sio_plain_frames *r, sio_packet_type type, const char *nsp,
                            int64_t id, const char *data)
{
    CHECK(r && r->n_frames == 1 && r->frames[0]->binary);
    if (!r || r->n_frames != 1)
        return;
    sio_packet p;
    sio_span *bins;
    CHECK(sio_msgpack_decode(frame_cbytes(r->frames[0]), r->frames[0]->len, NULL, &p, &bins) == SIO_OK);
    CHECK(p.type == type && p.id == id && strcmp(p.nsp, nsp) == 0);
    char *got = text_of(p.data);
    CHECK_MEM(got, strlen(got), data);
    if (p.attachments) {
        CHECK(bins[0].len == 3 && memcmp(bins[0].data, "\x01\x02\x03", 3) == 0);
    }
    free(got);
    free(bins);
    sio_packet_clear(&p);
}

static void test_once_per_packet(void)
{
    json_t *data = json_loads("[\"score\",{\"home\":1,\"blob\":{\"_placeholder\":true,\"num\":0}}]", 0, NULL);
    sio_bin bin = {"\x01\x02\x03", 3};
    sio_outpacket *p = sio_outpacket_encode("/chat", SIO_EVENT, -1, data, &bin, 1);
    CHECK(p != NULL);
    unsigned long before = sio_outpacket_msgpack_renders();
    const sio_plain_frames *first = sio_outpacket_msgpack(p);
    for (int i = 0; i < 20; i++)
        CHECK(sio_outpacket_msgpack(p) == first); /* the same frames, shared */
    CHECK(sio_outpacket_msgpack_renders() - before == 1);
    check_rendering(first, SIO_BINARY_EVENT, "/chat", -1,
                    "[\"score\",{\"home\":1,\"blob\":{\"_placeholder\":true,\"num\":0}}]");
    sio_outpacket_unref(p);
    json_decref(data);
}

static void test_kinds(void)
{
    json_t *sid = json_pack("{ss}", "sid", "AAAAAAAAAAAAAAAAAAAA"), *args = json_pack("[si]", "ok", 1);
    sio_outpacket *connect = sio_outpacket_encode("/", SIO_CONNECT, -1, sid, NULL, 0);
    sio_outpacket *ack = sio_outpacket_encode("/", SIO_ACK, 42, args, NULL, 0);
    sio_outpacket *bye = sio_outpacket_encode("/x", SIO_DISCONNECT, -1, NULL, NULL, 0);
    check_rendering(sio_outpacket_msgpack(connect), SIO_CONNECT, "/", -1, "{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\"}");
    check_rendering(sio_outpacket_msgpack(ack), SIO_ACK, "/", 42, "[\"ok\",1]");
    check_rendering(sio_outpacket_msgpack(bye), SIO_DISCONNECT, "/x", -1, "(none)");
    sio_outpacket_unref(connect);
    sio_outpacket_unref(ack);
    sio_outpacket_unref(bye);
    json_decref(sid);
    json_decref(args);
}

/* A recovery offset stays the last argument (socket.io-client reads it there). */
static void test_offset_kept(void)
{
    json_t *data = json_pack("[sis]", "ev", 1, "1700000000000-0");
    sio_outpacket *p = sio_outpacket_encode("/", SIO_EVENT, -1, data, NULL, 0);
    p->offset_last = 1;
    check_rendering(sio_outpacket_msgpack(p), SIO_EVENT, "/", -1, "[\"ev\",1,\"1700000000000-0\"]");
    sio_outpacket_unref(p);
    json_decref(data);
}

/* A placeholder-like object in a packet without attachments is an object (as
 * the text parser reads it); one naming no attachment of a binary packet has
 * no form at all: no frame, made once. */
static void test_placeholders(void)
{
    json_t *data = json_loads("[\"x\",{\"_placeholder\":true,\"num\":1}]", 0, NULL);
    sio_outpacket *literal = sio_outpacket_encode("/", SIO_EVENT, -1, data, NULL, 0);
    /* {type: 2, data: ["x", {_placeholder: true, num: 1}], nsp: "/"} (which sio's own decoder refuses) */
    static const uint8_t want[] = "\x83\xa4type\x02\xa4" "data\x92\xa1x\x82\xac_placeholder\xc3\xa3num\x01\xa3nsp\xa1/";
    const sio_plain_frames *lr = sio_outpacket_msgpack(literal);
    CHECK(lr && lr->n_frames == 1 && lr->frames[0]->len == sizeof(want) - 1 &&
          memcmp(frame_cbytes(lr->frames[0]), want, sizeof(want) - 1) == 0);
    sio_bin bin = {"\x01\x02\x03", 3};
    sio_outpacket *p = sio_outpacket_encode("/", SIO_EVENT, -1, data, &bin, 1);
    unsigned long before = sio_outpacket_msgpack_renders();
    const sio_plain_frames *r = sio_outpacket_msgpack(p);
    CHECK(r && r->n_frames == 0 && sio_outpacket_msgpack(p) == r);
    CHECK(sio_outpacket_msgpack_renders() - before == 1);
    sio_outpacket_unref(literal);
    sio_outpacket_unref(p);
    json_decref(data);
}

/* Made from the fields at once (a packet for one msgpack client): the same
 * bytes as the rendering from the text. */
static void test_encode_msgpack(void)
{
    json_t *data = json_loads("[\"f\",{\"b\":{\"_placeholder\":true,\"num\":0},\"n\":[1,2.5,null]}]", 0, NULL);
    sio_bin bin = {"\x01\x02\x03", 3};
    unsigned long before = sio_outpacket_msgpack_renders();
    sio_outpacket *direct = sio_outpacket_encode_msgpack("/", SIO_ACK, 9, data, &bin, 1);
    CHECK(sio_outpacket_msgpack_renders() - before == 1);
    const sio_plain_frames *r = sio_outpacket_msgpack(direct);
    CHECK(sio_outpacket_msgpack_renders() - before == 1);
    check_rendering(r, SIO_BINARY_ACK, "/", 9, "[\"f\",{\"b\":{\"_placeholder\":true,\"num\":0},\"n\":[1,2.5,null]}]");
    sio_outpacket *viatext = sio_outpacket_encode("/", SIO_ACK, 9, data, &bin, 1);
    const sio_plain_frames *t = sio_outpacket_msgpack(viatext);
    CHECK(r && t && r->n_frames == 1 && t->n_frames == 1 && r->frames[0]->len == t->frames[0]->len &&
          memcmp(frame_cbytes(r->frames[0]), frame_cbytes(t->frames[0]), t->frames[0]->len) == 0);
    sio_outpacket_unref(direct);
    sio_outpacket_unref(viatext);
    json_decref(data);
}

int main(void)
{
    test_once_per_packet();
    test_kinds();
    test_offset_kept();
    test_placeholders();
    test_encode_msgpack();
    return CHECK_DONE("test_sio_outpacket_msgpack");
}
