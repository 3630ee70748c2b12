/* api_broadcast: see api_broadcast.h. */
#include "api_broadcast.h"

#include <string.h>

#include "glob.h"
#include "sio_packet.h"

static int namespace_configured(const char *const *namespaces, const char *nsp, size_t len)
{
    for (const char *const *p = namespaces; p && *p; p++)
        if (glob_match(*p, nsp, len))
            return 1;
    return 0;
}

const char *api_check_namespace(const char *const *namespaces, const char *nsp, size_t len)
{
    if (!nsp || nsp[0] != '/')
        return "namespace must be a string starting with '/'";
    if (len > API_MAX_NAME_LEN || strlen(nsp) != len || memchr(nsp, ',', len))
        return "namespace must be a name without ',' or NUL";
    if (strpbrk(nsp, "*?"))
        return "namespace must be a name, not a pattern";
    return namespace_configured(namespaces, nsp, len) ? NULL : "unknown namespace";
}

const char *api_parse_namespace(const char *const *namespaces, json_t *v, const char **out)
{
    *out = v ? json_string_value(v) : "/";
    return api_check_namespace(namespaces, *out, v ? json_string_length(v) : 1);
}

const char *api_parse_names(json_t *req, const char *key, const char **out, size_t *n)
{
    json_t *v = json_object_get(req, key);
    *n = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v) || json_array_size(v) > API_MAX_ROOMS)
        return "rooms and except must be arrays of at most 1024 strings";
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *s = json_array_get(v, i);
        size_t len = json_string_length(s);
        if (!json_is_string(s) || len == 0 || len > API_MAX_NAME_LEN ||
            strlen(json_string_value(s)) != len)
            return "rooms and except must be arrays of non-empty names without NUL";
        out[(*n)++] = json_string_value(s);
    }
    return NULL;
}

static const char *check_event(json_t *req, api_broadcast *out)
{
    json_t *ev = json_object_get(req, "event");
    out->event = json_string_value(ev);
    if (!out->event || !*out->event)
        return "missing event";
    if (strlen(out->event) != json_string_length(ev))
        return "event must be a name without NUL";
    if (sio_is_reserved_event(out->event))
        return "reserved event name";
    out->data = json_object_get(req, "data");
    out->args = json_object_get(req, "args");
    if (out->data && out->args)
        return "give either data or args, not both";
    if (out->args && !json_is_array(out->args))
        return "args must be an array";
    return NULL;
}

const char *api_broadcast_parse(json_t *req, const char *const *namespaces, api_broadcast *out)
{
    memset(out, 0, offsetof(api_broadcast, rooms));
    out->n_rooms = out->n_except = 0;
    if (!json_is_object(req))
        return "a broadcast must be a JSON object";
    const char *err = api_parse_namespace(namespaces, json_object_get(req, "namespace"), &out->nsp);
    if (!err)
        err = check_event(req, out);
    if (err)
        return err;
    json_t *vol = json_object_get(req, "volatile");
    if (vol && !json_is_boolean(vol))
        return "volatile must be a boolean";
    out->is_volatile = json_is_true(vol);
    err = api_parse_names(req, "rooms", out->rooms, &out->n_rooms);
    return err ? err : api_parse_names(req, "except", out->except, &out->n_except);
}

json_t *api_broadcast_packet_data(const api_broadcast *b)
{
    json_t *a = json_array();
    if (!a || json_array_append_new(a, json_string(b->event)) ||
        (b->args && json_array_extend(a, b->args)) ||
        (!b->args && b->data && json_array_append(a, b->data))) {
        json_decref(a);
        return NULL;
    }
    return a;
}
