/* test_api_broadcast: the HTTP API's broadcast body (adapters/redis/api_broadcast.c):
 * what is accepted, what each refusal says, and the packet data built. */
#include <string.h>

#include "api_broadcast.h"
#include "check.h"
#include "sio_packet.h"

CHECK_STATE;

static const char *const namespaces[] = {"/", "/chat", "/org-*", NULL};

/* Parses `text`; returns the reason (NULL when accepted). *b is filled. */
static const char *parse(const char *text, api_broadcast *b, json_t **keep)
{
    json_error_t e;
    *keep = json_loads(text, JSON_ALLOW_NUL, &e);
    return *keep ? api_broadcast_parse(*keep, namespaces, b) : "bad json";
}

#define CHECK_REFUSED(text, reason)                                  \
    do {                                                             \
        api_broadcast b_;                                            \
        json_t *j_;                                                  \
        const char *r_ = parse((text), &b_, &j_);                    \
        CHECK(r_ && strcmp(r_, (reason)) == 0);                      \
        if (!r_ || strcmp(r_, (reason)))                             \
            fprintf(stderr, "  %s -> %s\n", (text), r_ ? r_ : "OK"); \
        json_decref(j_);                                             \
    } while (0)

static void test_refusals(void)
{
    CHECK_REFUSED("[]", "a broadcast must be a JSON object");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":3}", "namespace must be a string starting with '/'");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":\"chat\"}", "namespace must be a string starting with '/'");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":\"/chat,x\"}", "namespace must be a name without ',' or NUL");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":\"/chat\\u0000x\"}", "namespace must be a name without ',' or NUL");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":\"/org-*\"}", "namespace must be a name, not a pattern");
    CHECK_REFUSED("{\"event\":\"a\",\"namespace\":\"/admin\"}", "unknown namespace");
    CHECK_REFUSED("{\"namespace\":\"/chat\"}", "missing event");
    CHECK_REFUSED("{\"event\":\"\"}", "missing event");
    CHECK_REFUSED("{\"event\":\"a\\u0000b\"}", "event must be a name without NUL");
    CHECK_REFUSED("{\"event\":\"connect\"}", "reserved event name");
    CHECK_REFUSED("{\"event\":\"a\",\"data\":1,\"args\":[]}", "give either data or args, not both");
    CHECK_REFUSED("{\"event\":\"a\",\"args\":{}}", "args must be an array");
    CHECK_REFUSED("{\"event\":\"a\",\"volatile\":1}", "volatile must be a boolean");
    CHECK_REFUSED("{\"event\":\"a\",\"rooms\":\"r\"}", "rooms and except must be arrays of at most 1024 strings");
    CHECK_REFUSED("{\"event\":\"a\",\"except\":[\"\"]}", "rooms and except must be arrays of non-empty names without NUL");
    CHECK_REFUSED("{\"event\":\"a\",\"rooms\":[\"a\\u0000\"]}", "rooms and except must be arrays of non-empty names without NUL");
    json_t *req = json_pack("{ss}", "event", "a"), *rooms = json_array();
    for (int i = 0; i <= API_MAX_ROOMS; i++)
        json_array_append_new(rooms, json_string("r"));
    json_object_set_new(req, "rooms", rooms);
    api_broadcast b;
    CHECK(api_broadcast_parse(req, namespaces, &b) != NULL);
    json_array_remove(rooms, 0);
    CHECK(api_broadcast_parse(req, namespaces, &b) == NULL && b.n_rooms == API_MAX_ROOMS);
    json_decref(req);
}

static void check_packet(const char *text, const char *want_nsp, const char *want_data)
{
    api_broadcast b;
    json_t *j;
    const char *r = parse(text, &b, &j);
    CHECK(r == NULL);
    if (r) {
        fprintf(stderr, "  %s -> %s\n", text, r);
        json_decref(j);
        return;
    }
    CHECK(strcmp(b.nsp, want_nsp) == 0);
    json_t *data = api_broadcast_packet_data(&b);
    bytebuf out = BYTEBUF_INIT;
    CHECK(data && sio_json_append(&out, data) == 0);
    CHECK_MEM(out.data, out.len, want_data);
    bytebuf_free(&out);
    json_decref(data);
    json_decref(j);
}

static void test_accepted(void)
{
    check_packet("{\"event\":\"score\"}", "/", "[\"score\"]");
    check_packet("{\"event\":\"score\",\"data\":{\"home\":1}}", "/", "[\"score\",{\"home\":1}]");
    check_packet("{\"event\":\"s\",\"args\":[1,null,\"x\"],\"namespace\":\"/org-7\"}", "/org-7",
                 "[\"s\",1,null,\"x\"]");
    check_packet("{\"event\":\"s\",\"data\":null}", "/", "[\"s\",null]");
    api_broadcast b;
    json_t *j;
    CHECK(parse("{\"event\":\"s\",\"rooms\":[\"a\",\"b\"],\"except\":[\"c\"],\"volatile\":true,"
                "\"namespace\":\"/chat\"}", &b, &j) == NULL);
    CHECK(b.n_rooms == 2 && strcmp(b.rooms[1], "b") == 0 && b.n_except == 1 && b.is_volatile);
    json_decref(j);
}

int main(void)
{
    test_refusals();
    test_accepted();
    return CHECK_DONE("test_api_broadcast");
}
