/* ws_ext: Sec-WebSocket-Extensions as npm ws parses it (lib/extension.js,
 * state by state), and the permessage-deflate answer. See ws_ext.h. */
#include "ws_ext.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the parser ------------------------------------------------------------------ */

typedef struct parser {
    const char *h;
    const ws_ext_sink *sink;
    char *scratch;            /* unescaped values */
    long start, end;          /* the token being read, -1 none */
    long ext_start, ext_len;  /* the extension name, ext_start -1 none yet */
    long name_start, name_len;/* the parameter name, name_start -1 none yet */
    uint8_t quoted, escaping, unescape;
} parser;

static int tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int blank(int c)
{
    return c == ' ' || c == '\t';
}

static int emit_offer(parser *p)
{
    int rc = p->sink->offer(p->sink->ctx, p->h + p->ext_start, (size_t)p->ext_len);
    p->ext_start = -1;
    return rc;
}

static int emit_param(parser *p, const char *value, size_t vlen)
{
    return p->sink->param(p->sink->ctx, p->h + p->ext_start, (size_t)p->ext_len,
                          p->h + p->name_start, (size_t)p->name_len, value, vlen);
}

/* The value h[start, end), its backslashes removed when it had escapes. */
static int emit_value(parser *p)
{
    size_t n = 0;
    for (long i = p->start; i < p->end; i++)
        if (!p->unescape || p->h[i] != '\\')
            p->scratch[n++] = p->h[i];
    p->scratch[n] = '\0';
    p->unescape = 0;
    return emit_param(p, p->scratch, n);
}

/* The token ends at `i` (its end, unless set already). */
static void close_token(parser *p, long i)
{
    if (p->end == -1)
        p->end = i;
}

static int in_name(parser *p, long i, int c)
{
    if (p->end == -1 && tchar(c)) {
        if (p->start == -1)
            p->start = i;
    } else if (i != 0 && blank(c)) {
        if (p->end == -1 && p->start != -1)
            p->end = i;
    } else if ((c == ';' || c == ',') && p->start != -1) {
        close_token(p, i);
        p->ext_start = p->start;
        p->ext_len = p->end - p->start;
        p->start = p->end = -1;
        return c == ',' ? emit_offer(p) : 0;
    } else {
        return -EINVAL;
    }
    return 0;
}

/* A parameter without a value ends with ';' or ','. */
static int param_without_value(parser *p, long i, int c)
{
    close_token(p, i);
    p->name_start = p->start;
    p->name_len = p->end - p->start;
    p->start = p->end = -1;
    int rc = emit_param(p, NULL, 0);
    p->name_start = -1;
    return rc ? rc : c == ',' ? emit_offer(p) : 0;
}

static int in_param(parser *p, long i, int c)
{
    if (p->end == -1 && tchar(c)) {
        if (p->start == -1)
            p->start = i;
    } else if (blank(c)) {
        if (p->end == -1 && p->start != -1)
            p->end = i;
    } else if ((c == ';' || c == ',') && p->start != -1) {
        return param_without_value(p, i, c);
    } else if (c == '=' && p->start != -1 && p->end == -1) {
        p->name_start = p->start;
        p->name_len = i - p->start;
        p->start = p->end = -1;
    } else {
        return -EINVAL;
    }
    return 0;
}

static int in_quotes(parser *p, long i, int c)
{
    if (p->escaping) {
        if (!tchar(c))
            return -EINVAL;
        if (p->start == -1)
            p->start = i;
        else
            p->unescape = 1;
        p->escaping = 0;
    } else if (tchar(c)) {
        if (p->start == -1)
            p->start = i;
    } else if (c == '"' && p->start != -1) {
        p->quoted = 0;
        p->end = i;
    } else if (c == '\\') {
        p->escaping = 1;
    } else {
        return -EINVAL;
    }
    return 0;
}

static int end_value(parser *p, long i, int c)
{
    close_token(p, i);
    int rc = emit_value(p);
    p->name_start = -1;
    p->start = p->end = -1;
    return rc ? rc : c == ',' ? emit_offer(p) : 0;
}

static int in_value(parser *p, long i, int c)
{
    if (p->escaping || p->quoted)
        return in_quotes(p, i, c);
    if (c == '"' && i > 0 && p->h[i - 1] == '=')
        p->quoted = 1;
    else if (p->end == -1 && tchar(c)) {
        if (p->start == -1)
            p->start = i;
    } else if (p->start != -1 && blank(c)) {
        close_token(p, i);
    } else if ((c == ';' || c == ',') && p->start != -1) {
        return end_value(p, i, c);
    } else {
        return -EINVAL;
    }
    return 0;
}

static int step(parser *p, long i, int c)
{
    if (p->ext_start == -1)
        return in_name(p, i, c);
    return p->name_start == -1 ? in_param(p, i, c) : in_value(p, i, c);
}

/* The end of the header closes what is open (ws: the last token, its offer). */
static int finish(parser *p, long n)
{
    int last = n ? (unsigned char)p->h[n - 1] : -1;
    if (p->start == -1 || p->quoted || p->escaping || blank(last))
        return -EINVAL;
    close_token(p, n);
    if (p->ext_start == -1) {
        p->ext_start = p->start;
        p->ext_len = p->end - p->start;
        return emit_offer(p);
    }
    int rc = p->name_start == -1 ? param_without_value(p, n, ',') : end_value(p, n, ',');
    return rc;
}

int ws_ext_parse(const char *header, size_t len, const ws_ext_sink *sink)
{
    parser p = {.h = header, .sink = sink, .start = -1, .end = -1, .ext_start = -1,
                .name_start = -1};
    if (len > (size_t)1 << 30 || !(p.scratch = malloc(len + 1)))
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i++)
        rc = step(&p, (long)i, (unsigned char)header[i]);
    if (!rc)
        rc = finish(&p, (long)len);
    free(p.scratch);
    return rc;
}

/* ---- permessage-deflate ---------------------------------------------------------- */

static const char pmd_name[] = "permessage-deflate";

enum { P_SERVER_NCT, P_CLIENT_NCT, P_SERVER_BITS, P_CLIENT_BITS, P_COUNT };
static const char *const pmd_params[P_COUNT] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

typedef struct negotiation {
    ws_pmd *out;
    uint8_t seen[P_COUNT];
    int server_bits; /* of the offer being read, 0 none */
} negotiation;

static int digits_value(const char *s, int base, double *v)
{
    *v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : (*s | 0x20) >= 'a' ? (*s | 0x20) - 'a' + 10 : 99;
        if (d >= base)
            return -1;
        *v = *v * base + d;
    }
    return 0;
}

/* JavaScript's Number(s) for the token characters a value can have: a
 * decimal (sign, fraction, exponent), or 0x / 0o / 0b digits. */
static int js_number(const char *s, double *v)
{
    if (s[0] == '0' && s[1] && strchr("xXoObB", s[1]))
        return digits_value(s + 2, (s[1] | 0x20) == 'x' ? 16 : (s[1] | 0x20) == 'o' ? 8 : 2, v);
    size_t i = s[0] == '+' || s[0] == '-';
    size_t digits = strspn(s + i, "0123456789");
    i += digits;
    if (s[i] == '.') {
        size_t frac = strspn(s + i + 1, "0123456789");
        digits += frac;
        i += 1 + frac;
    }
    if (!digits)
        return -1;
    if ((s[i] | 0x20) == 'e') {
        i += 1 + (s[i + 1] == '+' || s[i + 1] == '-');
        size_t exp = strspn(s + i, "0123456789");
        if (!exp)
            return -1;
        i += exp;
    }
    if (s[i])
        return -1;
    *v = strtod(s, NULL);
    return 0;
}

/* A window size 8..15 (ws: Number.isInteger(+value) within the range). */
static int window_bits(const char *value)
{
    double v;
    if (!value || js_number(value, &v) || v != floor(v) || v < 8 || v > 15)
        return -1;
    return (int)v;
}

/* normalizeParams on one parameter: the name known, given once, its value right. */
static int pmd_param(void *ctx, const char *ext, size_t ext_len, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    negotiation *g = ctx;
    if (ext_len != sizeof(pmd_name) - 1 || memcmp(ext, pmd_name, ext_len) != 0)
        return 0; /* another extension: parsed, not ours to judge */
    int k = 0;
    while (k < P_COUNT && (strlen(pmd_params[k]) != name_len || memcmp(pmd_params[k], name, name_len)))
        k++;
    if (k == P_COUNT || g->seen[k]++)
        return -EINVAL; /* unknown, or a second value */
    if (k == P_SERVER_NCT || k == P_CLIENT_NCT)
        return value ? -EINVAL : 0;
    int bits = window_bits(value);
    if (bits < 0 && !(k == P_CLIENT_BITS && !value))
        return -EINVAL;
    if (k == P_SERVER_BITS)
        g->server_bits = bits;
    return 0;
}

static void accept_offer(ws_pmd *out, int server_bits)
{
    out->accepted = 1;
    out->server_bits = (uint8_t)(server_bits ? server_bits : 15);
    int n = snprintf(out->response, sizeof(out->response),
                     "%s; server_no_context_takeover; client_no_context_takeover", pmd_name);
    if (server_bits)
        snprintf(out->response + n, sizeof(out->response) - (size_t)n,
                 "; server_max_window_bits=%d", server_bits);
}

static int pmd_offer(void *ctx, const char *ext, size_t ext_len)
{
    negotiation *g = ctx;
    if (ext_len == sizeof(pmd_name) - 1 && memcmp(ext, pmd_name, ext_len) == 0 &&
        !g->out->accepted)
        accept_offer(g->out, g->server_bits); /* the first offer: sio takes any valid one */
    memset(g->seen, 0, sizeof(g->seen));
    g->server_bits = 0;
    return 0;
}

int ws_pmd_negotiate(const char *header, size_t len, ws_pmd *out)
{
    negotiation g = {.out = out};
    ws_ext_sink sink = {pmd_param, pmd_offer, &g};
    memset(out, 0, sizeof(*out));
    int rc = ws_ext_parse(header, len, &sink);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
