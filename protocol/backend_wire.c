/* backend_wire: see backend_wire.h. */
#include "backend_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "sio_packet.h"

#define MAX_ATTACHMENTS 64 /* backend_attachments' room */

static const char *const type_names[] = {"",           "connect",      "refresh",
                                         "event",      "connected",    "disconnected",
                                         "server_side_emit"};

const char *backend_type_name(backend_type t)
{
    return t >= BACKEND_CONNECT && t <= BACKEND_SERVER_SIDE_EMIT ? type_names[t] : "";
}

/* ---- requests --------------------------------------------------------------- */

static json_t *attachments_json(const backend_bin *bins, size_t n)
{
    json_t *list = json_array();
    bytebuf b = BYTEBUF_INIT;
    for (size_t i = 0; list && i < n; i++) {
        b.len = 0;
        if (base64_encode(bins[i].data, bins[i].len, &b) ||
            json_array_append_new(list, json_stringn((const char *)b.data, b.len))) {
            json_decref(list);
            list = NULL;
        }
    }
    bytebuf_free(&b);
    return list;
}

static int dump_into(const char *buf, size_t size, void *ud)
{
    return bytebuf_append(ud, buf, size);
}

int backend_request_encode(json_t *fields, const backend_bin *bins, size_t n_bins,
                           bytebuf *out)
{
    if (!json_is_object(fields))
        return -EINVAL;
    json_t *body = json_copy(fields); /* shallow: the values are shared, unchanged */
    if (!body)
        return -ENOMEM;
    /* json_object_set_new takes the list, also when it fails */
    int rc = n_bins && json_object_set_new(body, "attachments", attachments_json(bins, n_bins));
    if (!rc)
        rc = json_dump_callback(body, dump_into, out, JSON_COMPACT);
    json_decref(body);
    return rc ? -ENOMEM : 0;
}

/* ---- answers ---------------------------------------------------------------- */

static int fail(char *err, size_t len, const char *why)
{
    snprintf(err, len, "%s", why);
    return -EPROTO;
}

static int name_ok(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max &&
           strlen(json_string_value(v)) == json_string_length(v);
}

/* Absent, or an array of at most `max` names. */
static int names_ok(const json_t *list, size_t max, size_t max_name)
{
    if (!list)
        return 1;
    if (!json_is_array(list) || json_array_size(list) > max)
        return 0;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (!name_ok(json_array_get(list, i), max_name))
            return 0;
    return 1;
}

static int emit_ok(const json_t *emit, const backend_limits *lim)
{
    if (!emit)
        return 1;
    if (!json_is_array(emit) || json_array_size(emit) > lim->max_emit)
        return 0;
    for (size_t i = 0; i < json_array_size(emit); i++) {
        json_t *e = json_array_get(emit, i), *ev = json_object_get(e, "event");
        json_t *args = json_object_get(e, "args");
        if (!json_is_object(e) || !name_ok(ev, lim->max_name) ||
            sio_is_reserved_event(json_string_value(ev)) || (args && !json_is_array(args)) ||
            (args && sio_count_placeholders(args, 0) != 0))
            return 0;
    }
    return 1;
}

static const char *connect_error(const json_t *a, const backend_limits *lim)
{
    json_t *allow = json_object_get(a, "allow"), *reason = json_object_get(a, "reason");
    json_t *user = json_object_get(a, "user"), *data = json_object_get(a, "data");
    json_t *exp = json_object_get(a, "expires_at");
    if (!json_is_boolean(allow))
        return "\"allow\" must be true or false";
    if (reason && !name_ok(reason, lim->max_name))
        return "\"reason\" must be a short string";
    if (!json_is_true(allow))
        return NULL;
    if (user && !json_is_string(user) && !json_is_integer(user) && !json_is_null(user))
        return "\"user\" must be a string or an integer";
    if (data && !json_is_object(data))
        return "\"data\" must be an object";
    if (!names_ok(json_object_get(a, "rooms"), lim->max_rooms, lim->max_name))
        return "\"rooms\" must be a list of room names";
    if (!names_ok(json_object_get(a, "subscribe"), lim->max_patterns, lim->max_name) ||
        !names_ok(json_object_get(a, "publish"), lim->max_patterns, lim->max_name))
        return "\"subscribe\" and \"publish\" must be lists of patterns";
    if (exp && (!json_is_integer(exp) || json_integer_value(exp) <= 0))
        return "\"expires_at\" must be a positive integer (unix seconds)";
    if (!emit_ok(json_object_get(a, "emit"), lim))
        return "\"emit\" must be a list of {event, args}";
    return NULL;
}

static int take_attachments(json_t *a, const backend_limits *lim, backend_attachments *att)
{
    json_t *list = json_object_get(a, "attachments");
    att->n = 0;
    if (!list)
        return 0;
    size_t max = lim->max_attachments < MAX_ATTACHMENTS ? lim->max_attachments : MAX_ATTACHMENTS;
    if (!json_is_array(list) || json_array_size(list) > max)
        return -1;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        size_t at = att->buf.len;
        if (!json_is_string(s) ||
            base64_decode((const uint8_t *)json_string_value(s), json_string_length(s), &att->buf))
            return -1;
        att->offsets[att->n] = at;
        att->lens[att->n++] = att->buf.len - at;
    }
    json_object_del(a, "attachments");
    return 0;
}

static const char *event_error(json_t *a, const backend_limits *lim, backend_attachments *att)
{
    json_t *ack = json_object_get(a, "ack");
    if (ack && !json_is_array(ack))
        return "\"ack\" must be an array";
    if (take_attachments(a, lim, att))
        return "\"attachments\" must be a short list of base64 strings";
    if (ack && sio_count_placeholders(ack, att->n) < 0)
        return "a placeholder in \"ack\" has no attachment";
    if (!ack)
        json_object_set_new(a, "ack", json_array());
    return NULL;
}

int backend_answer_decode(backend_type t, const char *body, size_t len, const backend_limits *lim,
                          json_t **answer, backend_attachments *att, char *err, size_t err_len)
{
    *answer = NULL;
    att->n = 0;
    json_error_t je;
    json_t *a = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(a)) {
        json_decref(a);
        return fail(err, err_len, a ? "the answer is not a JSON object" : "the answer is not JSON");
    }
    const char *why = NULL;
    if (t == BACKEND_CONNECT || t == BACKEND_REFRESH)
        why = connect_error(a, lim);
    else if (t == BACKEND_EVENT || t == BACKEND_SERVER_SIDE_EMIT)
        why = event_error(a, lim, att);
    if (why) {
        json_decref(a);
        return fail(err, err_len, why);
    }
    *answer = a;
    return 0;
}
