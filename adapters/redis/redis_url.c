/* redis_url: parses redis[s]://[[user]:password@]host[:port][/db] into a
 * redis_endpoint (see redis_conn.h). User and password are percent-decoded;
 * IPv6 hosts go in brackets. Error messages name the faulty part of the URL
 * but never quote the credentials. */
#include "redis_conn.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct span {
    const char *p;
    size_t len;
} span;

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes s into a new string: 0, or -1 (bad escape, %00, no memory). */
static int percent_decode(span s, char **out)
{
    char *buf = malloc(s.len + 1);
    size_t n = 0;
    if (!buf)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] != '%') {
            buf[n++] = s.p[i];
            continue;
        }
        if (s.len - i < 3 || hex_value(s.p[i + 1]) < 0 || hex_value(s.p[i + 2]) < 0)
            goto bad;
        int v = hex_value(s.p[i + 1]) * 16 + hex_value(s.p[i + 2]);
        if (v == 0)
            goto bad;
        buf[n++] = (char)v;
        i += 2;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
bad:
    explicit_bzero(buf, s.len + 1);
    free(buf);
    return -1;
}

/* Strips "redis://" or "rediss://" (case-insensitive) and sets out->tls. */
static int parse_scheme(const char **url, redis_endpoint *out, char *err, size_t err_len)
{
    if (strncasecmp(*url, "redis://", 8) == 0) {
        *url += 8;
        return 0;
    }
    if (strncasecmp(*url, "rediss://", 9) == 0) {
        *url += 9;
        out->tls = 1;
        return 0;
    }
    return fail(err, err_len, "Redis URL must start with redis:// or rediss://");
}

/* userinfo is "[user]:password": both decoded; an empty user means none. */
static int parse_userinfo(span ui, redis_endpoint *out, char *err, size_t err_len)
{
    const char *colon = memchr(ui.p, ':', ui.len);
    if (!colon)
        return fail(err, err_len, "Redis URL credentials must be [user]:password "
                                  "(write redis://:password@host for a password alone)");
    span user = {ui.p, (size_t)(colon - ui.p)};
    span pass = {colon + 1, ui.len - user.len - 1};
    if (pass.len == 0)
        return fail(err, err_len, "Redis URL has an empty password");
    if (percent_decode(pass, &out->password))
        return fail(err, err_len, "Redis URL password has an invalid percent-escape");
    if (user.len && percent_decode(user, &out->user))
        return fail(err, err_len, "Redis URL user name has an invalid percent-escape");
    return 0;
}

static int valid_hostname(span h)
{
    for (size_t i = 0; i < h.len; i++) {
        char ch = h.p[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
        if (!ok)
            return 0;
    }
    return h.len > 0 && h.len < 254;
}

/* Decimal in [min, max] with no sign, no spaces, at most 10 digits. */
static int parse_number(span s, long min, long max, long *out)
{
    if (s.len == 0 || s.len > 10)
        return -1;
    long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_port(span s, redis_endpoint *out, char *err, size_t err_len)
{
    long port;
    if (s.len == 0)
        return fail(err, err_len, "Redis URL has an empty port after ':'");
    if (parse_number(s, 1, 65535, &port))
        return fail(err, err_len, "Redis URL port '%.*s' is not a number in 1..65535",
                    (int)(s.len > 16 ? 16 : s.len), s.p);
    out->port = (int)port;
    return 0;
}

/* "[v6]" or "[v6]:port": the address must parse as IPv6. */
static int parse_bracket_host(span hp, redis_endpoint *out, char *err, size_t err_len)
{
    const char *close = memchr(hp.p, ']', hp.len);
    if (!close)
        return fail(err, err_len, "Redis URL has '[' without a closing ']'");
    span h = {hp.p + 1, (size_t)(close - hp.p - 1)};
    unsigned char addr[16];
    char tmp[64];
    if (h.len == 0 || h.len >= sizeof(tmp))
        return fail(err, err_len, "Redis URL has an invalid IPv6 address in brackets");
    memcpy(tmp, h.p, h.len);
    tmp[h.len] = '\0';
    if (inet_pton(AF_INET6, tmp, addr) != 1)
        return fail(err, err_len, "Redis URL has an invalid IPv6 address '[%s]'", tmp);
    span rest = {close + 1, hp.len - (size_t)(close + 1 - hp.p)};
    if (rest.len && rest.p[0] != ':')
        return fail(err, err_len, "Redis URL has unexpected characters after ']'");
    if (rest.len && parse_port((span){rest.p + 1, rest.len - 1}, out, err, err_len))
        return -1;
    out->host = strdup(tmp);
    return out->host ? 0 : fail(err, err_len, "out of memory");
}

static int parse_hostport(span hp, redis_endpoint *out, char *err, size_t err_len)
{
    if (hp.len == 0)
        return fail(err, err_len, "Redis URL has no host");
    if (hp.p[0] == '[')
        return parse_bracket_host(hp, out, err, err_len);
    const char *colon = memchr(hp.p, ':', hp.len);
    span h = {hp.p, colon ? (size_t)(colon - hp.p) : hp.len};
    if (colon && memchr(colon + 1, ':', hp.len - h.len - 1))
        return fail(err, err_len, "Redis URL: IPv6 addresses must be written in brackets");
    if (h.len == 0)
        return fail(err, err_len, "Redis URL has no host");
    if (!valid_hostname(h))
        return fail(err, err_len, "Redis URL host '%.*s' is not a valid host name or address",
                    (int)(h.len > 64 ? 64 : h.len), h.p);
    if (colon && parse_port((span){colon + 1, hp.len - h.len - 1}, out, err, err_len))
        return -1;
    out->host = strndup(h.p, h.len);
    return out->host ? 0 : fail(err, err_len, "out of memory");
}

/* path is "" or "/" or "/<db>". */
static int parse_db(span path, redis_endpoint *out, char *err, size_t err_len)
{
    long db;
    if (path.len <= 1)
        return 0;
    span d = {path.p + 1, path.len - 1};
    if (parse_number(d, 0, INT_MAX, &db))
        return fail(err, err_len, "Redis URL database '/%.*s' is not a number in 0..%d",
                    (int)(d.len > 16 ? 16 : d.len), d.p, INT_MAX);
    out->db = (int)db;
    return 0;
}

static int parse_rest(const char *rest, redis_endpoint *out, char *err, size_t err_len)
{
    if (strpbrk(rest, "?#"))
        return fail(err, err_len, "Redis URL query strings and fragments are not supported");
    size_t auth_len = strcspn(rest, "/");
    span path = {rest + auth_len, strlen(rest + auth_len)};
    span auth = {rest, auth_len};
    if (memchr(path.p, '@', path.len)) /* a raw '/' in the credentials: quote nothing */
        return fail(err, err_len, "Redis URL has '@' after the host; percent-encode '/' "
                                  "in the user or password as %%2F");
    const char *at = NULL;
    for (size_t i = auth_len; i > 0; i--)
        if (rest[i - 1] == '@') {
            at = rest + i - 1;
            break;
        }
    span hostport = auth;
    if (at) {
        if (parse_userinfo((span){rest, (size_t)(at - rest)}, out, err, err_len))
            return -1;
        hostport = (span){at + 1, auth_len - (size_t)(at + 1 - rest)};
    }
    if (parse_hostport(hostport, out, err, err_len))
        return -1;
    return parse_db(path, out, err, err_len);
}

int redis_url_parse(const char *url, redis_endpoint *out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!out)
        return fail(err, err_len, "no output endpoint");
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!url)
        return fail(err, err_len, "no Redis URL");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return fail(err, err_len, "Redis URL contains spaces or non-ASCII characters "
                                      "(percent-encode them)");
    if (parse_scheme(&url, out, err, err_len) || parse_rest(url, out, err, err_len)) {
        redis_endpoint_free(out);
        out->port = 6379;
        return -1;
    }
    return 0;
}

void redis_endpoint_free(redis_endpoint *e)
{
    if (!e)
        return;
    if (e->password) {
        explicit_bzero(e->password, strlen(e->password));
        free(e->password);
    }
    free(e->host);
    free(e->user);
    free(e->ca_file);
    free(e->sni);
    memset(e, 0, sizeof(*e));
}
