/* test_backend_wire: unit tests of protocol/backend_wire.c and protocol/base64.c:
 * requests as the backend reads them (attachments as base64), and answers of
 * every type: well-formed, truncated, oversized and malformed ones, each
 * refused with a reason and no answer. */
#include <errno.h>
#include <string.h>

#include "backend_wire.h"
#include "base64.h"
#include "check.h"

CHECK_STATE;

static const backend_limits lim = {2, 2, 16, 1, 2};

/* rc of decoding `body` as type t; *out gets the answer (or stays NULL). */
static int decode(backend_type t, const char *body, json_t **out, backend_attachments *att)
{
    char err[128] = "";
    att->buf = (bytebuf)BYTEBUF_INIT;
    int rc = backend_answer_decode(t, body, strlen(body), &lim, out, att, err, sizeof err);
    CHECK(rc == 0 ? *out != NULL && err[0] == 0 : *out == NULL && err[0] != 0);
    return rc;
}

static int refused(backend_type t, const char *body)
{
    json_t *a = NULL;
    backend_attachments att;
    int rc = decode(t, body, &a, &att);
    json_decref(a);
    bytebuf_free(&att.buf);
    return rc == -EPROTO;
}

static void test_request(void)
{
    json_t *f = json_pack("{sssss[{s{sbsi}}]}", "type", "event", "event", "up", "args", "blob",
                          "_placeholder", 1, "num", 0);
    backend_bin bin = {"\x00\x01\xff", 3};
    bytebuf out = BYTEBUF_INIT;
    CHECK(backend_request_encode(f, &bin, 1, &out) == 0);
    json_t *back = json_loadb((const char *)out.data, out.len, 0, NULL);
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(back, "attachments"), 0)),
                 "AAH/") == 0);
    CHECK(json_object_get(f, "attachments") == NULL); /* the fields are not changed */
    json_decref(back);
    bytebuf_free(&out);
    json_t *arr = json_array();
    CHECK(backend_request_encode(arr, NULL, 0, &out) == -EINVAL);
    json_decref(arr);
    json_decref(f);
}

static void test_base64(void)
{
    bytebuf b = BYTEBUF_INIT;
    CHECK(base64_decode((const uint8_t *)"AAH/", 4, &b) == 0 && b.len == 3);
    CHECK(base64_decode((const uint8_t *)"AAE", 3, &b) == 0 && b.len == 5); /* unpadded, appended */
    CHECK(base64_decode((const uint8_t *)"A", 1, &b) == -EINVAL && b.len == 5); /* truncated */
    CHECK(base64_decode((const uint8_t *)"AA E", 4, &b) == -EINVAL);
    CHECK(base64_decode((const uint8_t *)"AA-_", 4, &b) == -EINVAL); /* base64url */
    bytebuf_free(&b);
}

static void test_connect(void)
{
    json_t *a = NULL;
    backend_attachments att;
    CHECK(decode(BACKEND_CONNECT, "{\"allow\":true,\"user\":\"u\",\"rooms\":[\"a\",\"b\"],"
                                  "\"expires_at\":99,\"emit\":[{\"event\":\"hi\",\"args\":[1]}]}",
                 &a, &att) == 0);
    json_decref(a);
    CHECK(decode(BACKEND_CONNECT, "{\"allow\":false,\"reason\":\"no\",\"data\":{\"x\":1}}", &a,
                 &att) == 0);
    json_decref(a);
    CHECK(refused(BACKEND_CONNECT, ""));                                  /* empty */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":tr"));                     /* truncated */
    CHECK(refused(BACKEND_CONNECT, "<html>"));                           /* not JSON */
    CHECK(refused(BACKEND_CONNECT, "[true]"));                           /* not an object */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":1}"));                    /* not a boolean */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"allow\":false}")); /* duplicate key */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"rooms\":[\"a\",\"b\",\"c\"]}")); /* too many */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"rooms\":[\"\"]}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"rooms\":[\"aaaaaaaaaaaaaaaaa\"]}")); /* long */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"rooms\":[\"a\\u0000b\"]}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"publish\":\"*\"}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"data\":[]}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"user\":{}}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"expires_at\":-1}"));
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"emit\":[{\"event\":\"connect\"}]}")); /* reserved */
    CHECK(refused(BACKEND_CONNECT, "{\"allow\":true,\"emit\":[{\"event\":\"a\"},{\"event\":\"b\"}]}"));
    CHECK(refused(BACKEND_CONNECT,
                  "{\"allow\":true,\"emit\":[{\"event\":\"a\",\"args\":[{\"_placeholder\":true,\"num\":0}]}]}"));
    CHECK(refused(BACKEND_REFRESH, "{\"allow\":\"yes\"}"));
}

static void test_event(void)
{
    json_t *a = NULL;
    backend_attachments att;
    CHECK(decode(BACKEND_EVENT, "{\"ack\":[{\"_placeholder\":true,\"num\":0}],\"attachments\":[\"AAH/\"]}",
                 &a, &att) == 0);
    CHECK(att.n == 1 && att.lens[0] == 3 && memcmp(att.buf.data + att.offsets[0], "\x00\x01\xff", 3) == 0);
    CHECK(json_object_get(a, "attachments") == NULL);
    json_decref(a);
    bytebuf_free(&att.buf);
    CHECK(decode(BACKEND_EVENT, "{}", &a, &att) == 0 && json_array_size(json_object_get(a, "ack")) == 0);
    json_decref(a);
    CHECK(refused(BACKEND_EVENT, "{\"ack\":{}}"));
    CHECK(refused(BACKEND_EVENT, "{\"ack\":[{\"_placeholder\":true,\"num\":0}]}"));  /* no attachment */
    CHECK(refused(BACKEND_EVENT, "{\"ack\":[],\"attachments\":[\"A\"]}"));           /* bad base64 */
    CHECK(refused(BACKEND_EVENT, "{\"ack\":[],\"attachments\":[\"AA\",\"AA\",\"AA\"]}")); /* too many */
    CHECK(refused(BACKEND_EVENT, "{\"ack\":[],\"attachments\":[1]}"));
    CHECK(refused(BACKEND_SERVER_SIDE_EMIT, "{\"ack\":[1"));                         /* truncated */
    CHECK(decode(BACKEND_DISCONNECTED, "{\"anything\":1}", &a, &att) == 0);          /* ignored */
    json_decref(a);
}

int main(void)
{
    test_request();
    test_base64();
    test_connect();
    test_event();
    return CHECK_DONE("test_backend_wire");
}
