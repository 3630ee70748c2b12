/* api_sockets: see api_sockets.h. */
#include "api_sockets.h"

#include <string.h>

#include "cluster_msg.h"

static const char *parse_targets(json_t *body, api_selection *out)
{
    json_t *v = json_object_get(body, "targets");
    if (!v)
        return "missing targets";
    if (api_parse_names(body, "targets", out->targets, &out->n_targets) || !out->n_targets)
        return "targets must be a non-empty array of at most 1024 non-empty names without NUL";
    return NULL;
}

static const char *parse_close(json_t *body, api_selection *out)
{
    json_t *v = json_object_get(body, "close");
    if (v && !json_is_boolean(v))
        return "close must be a boolean";
    out->close = json_is_true(v);
    return NULL;
}

static void clear(api_selection *out)
{
    out->nsp = NULL;
    out->n_rooms = out->n_except = out->n_targets = 0;
    out->close = 0;
}

const char *api_sockets_parse_body(json_t *body, int kind, const char *const *namespaces,
                                   api_selection *out)
{
    clear(out);
    if (!json_is_object(body))
        return "the body must be a JSON object";
    json_t *nsp = json_object_get(body, "namespace");
    if (!nsp)
        return "missing namespace";
    const char *err = api_parse_namespace(namespaces, nsp, &out->nsp);
    if (!err)
        err = api_parse_names(body, "rooms", out->rooms, &out->n_rooms);
    if (!err)
        err = api_parse_names(body, "except", out->except, &out->n_except);
    if (!err && kind == CLUSTER_REQ_DISCONNECT)
        return parse_close(body, out);
    return err ? err : parse_targets(body, out);
}

/* A room name of the query string: non-empty, bounded, one more of at most
 * API_MAX_ROOMS. */
static const char *add_name(const char *v, const char **list, size_t *n)
{
    size_t len = strlen(v);
    if (len == 0 || len > API_MAX_NAME_LEN)
        return "room and except must be non-empty names";
    if (*n == API_MAX_ROOMS)
        return "at most 1024 room and 1024 except parameters";
    list[(*n)++] = v;
    return NULL;
}

const char *api_sockets_parse_query(const char *const *keys, const char *const *values, size_t n,
                                    int with_rooms, const char *const *namespaces,
                                    api_selection *out)
{
    clear(out);
    const char *err = NULL;
    for (size_t i = 0; i < n && !err; i++) {
        if (strcmp(keys[i], "namespace") == 0)
            err = out->nsp ? "namespace given twice" : (out->nsp = values[i], NULL);
        else if (with_rooms && strcmp(keys[i], "room") == 0)
            err = add_name(values[i], out->rooms, &out->n_rooms);
        else if (with_rooms && strcmp(keys[i], "except") == 0)
            err = add_name(values[i], out->except, &out->n_except);
        else
            err = "unknown query parameter";
    }
    if (!err && !out->nsp)
        err = "missing namespace";
    return err ? err : api_check_namespace(namespaces, out->nsp, strlen(out->nsp));
}
