/* http_compress: Accept-Encoding as negotiator reads it, and gzip/deflate
 * bodies from shared zlib streams. See http_compress.h. */
#include "http_compress.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

/* ---- Accept-Encoding (negotiator/lib/encoding.js) ----------------------------------- */

typedef struct spec {
    double q;  /* NaN for a q that is not a number, as in JavaScript */
    int s;     /* 1: by name, 0: by "*" */
    int o;     /* the matching entry's index in the header, -1 none */
} spec;

/* JavaScript's parseFloat: the longest decimal prefix after blanks (or
 * Infinity), NaN when there is none. */
static double parse_float(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    int neg = p < end && *p == '-';
    const char *d = p + (p < end && (*p == '-' || *p == '+'));
    if (end - d >= 8 && memcmp(d, "Infinity", 8) == 0)
        return neg ? -INFINITY : INFINITY;
    char buf[64];
    size_t n = 0;
    while (p + n < end && n < sizeof(buf) - 1 && strchr("0123456789+-.eE", p[n]))
        n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *stop;
    double v = strtod(buf, &stop);
    return stop == buf ? NAN : v;
}

/* q of one entry's parameters ";a=b;q=0.5": the first "q" (1 when none). */
static double entry_q(const char *p, const char *end)
{
    while (p < end) {
        size_t left = (size_t)(end - p);
        const char *e = memchr(p, ';', left);
        e = e ? e : end;
        size_t skip = 0, seg = (size_t)(e - p);
        while (skip < seg && isspace((unsigned char)p[skip]))
            skip++;
        p += skip;
        const char *eq = memchr(p, '=', seg - skip);
        const char *name_end = eq ? eq : e;
        if (!eq) /* trim() of the whole parameter */
            while (name_end > p && isspace((unsigned char)name_end[-1]))
                name_end--;
        if (name_end - p == 1 && *p == 'q') /* split('=')[0] === 'q' */
            return eq ? parse_float(eq + 1, e) : NAN;
        p = e + (e < end);
    }
    return 1;
}

/* One entry "name[;params]" (simpleEncodingRegExp): its name and q; 0 when it
 * is not one (then skipped). */
static int parse_entry(const char *p, const char *end, const char **name, size_t *nlen, double *q)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    const char *n = p;
    while (p < end && !isspace((unsigned char)*p) && *p != ';')
        p++;
    if (p == n)
        return 0;
    *name = n;
    *nlen = (size_t)(p - n);
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p < end && *p != ';')
        return 0;
    double v = p + 1 < end ? entry_q(p + 1, end) : 1; /* ";" alone: match[2] is "", q 1 */
    *q = v;
    return 1;
}

/* getEncodingPriority's comparison: specificity, then q, then the later
 * entry (a NaN difference counts as none, as `||` skips it). */
static void match(spec *best, const char *name, size_t nlen, double q, int o, const char *want)
{
    int s = nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
    if (!s && !(nlen == 1 && *name == '*'))
        return;
    double d = best->s - s;
    if (d == 0 || isnan(d))
        d = best->q - q;
    if (d == 0 || isnan(d))
        d = best->o - o;
    if (d < 0)
        *best = (spec){q, s, o};
}

static const char *const provided[2] = {"gzip", "deflate"};

static void rate(const char *accept, size_t len, spec out[2])
{
    const char *p = accept, *end = accept + len;
    int o = 0;
    out[0] = out[1] = (spec){0, 0, -1};
    while (p <= end) {
        const char *e = memchr(p, ',', (size_t)(end - p));
        e = e ? e : end;
        const char *name;
        size_t nlen;
        double q;
        if (parse_entry(p, e, &name, &nlen, &q))
            for (int k = 0; k < 2; k++)
                match(&out[k], name, nlen, q, o, provided[k]);
        o++; /* negotiator's index counts every entry, parsed or not */
        p = e + 1;
    }
}

enum http_encoding http_pick_encoding(const char *accept, size_t len)
{
    spec r[2];
    if (!accept)
        return HTTP_ENC_NONE; /* identity only */
    rate(accept, len, r);
    int ok0 = r[0].q > 0, ok1 = r[1].q > 0; /* NaN and q=0: not acceptable */
    if (!ok0 || !ok1)
        return ok0 ? HTTP_ENC_GZIP : ok1 ? HTTP_ENC_DEFLATE : HTTP_ENC_NONE;
    /* compareSpecs: q, then specificity, then the header's order, then ours */
    if (r[0].q != r[1].q)
        return r[0].q > r[1].q ? HTTP_ENC_GZIP : HTTP_ENC_DEFLATE;
    if (r[0].s != r[1].s)
        return r[0].s > r[1].s ? HTTP_ENC_GZIP : HTTP_ENC_DEFLATE;
    return r[1].o < r[0].o ? HTTP_ENC_DEFLATE : HTTP_ENC_GZIP;
}

const char *http_encoding_name(enum http_encoding e)
{
    return e == HTTP_ENC_GZIP ? "gzip" : e == HTTP_ENC_DEFLATE ? "deflate" : "identity";
}

/* ---- the encoders ------------------------------------------------------------------- */

static z_stream streams[3]; /* by encoding, edge thread */
static uint8_t ready[3];

static z_stream *encoder(enum http_encoding e)
{
    z_stream *z = &streams[e];
    if (ready[e])
        return deflateReset(z) == Z_OK ? z : NULL;
    memset(z, 0, sizeof(*z));
    int bits = e == HTTP_ENC_GZIP ? 15 + 16 : 15; /* +16: a gzip wrapper */
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    ready[e] = 1;
    return z;
}

int http_compress(enum http_encoding e, const void *in, size_t len, bytebuf *out)
{
    if (e != HTTP_ENC_GZIP && e != HTTP_ENC_DEFLATE)
        return -EINVAL;
    z_stream *z = encoder(e);
    if (!z || len > UINT32_MAX)
        return z ? -EINVAL : -ENOMEM;
    size_t start = out->len, bound = deflateBound(z, (uLong)len) + 32;
    if (bytebuf_reserve(out, bound))
        return -ENOMEM;
    z->next_in = SIO_UNCONST(Bytef *, in);
    z->avail_in = (uInt)len;
    z->next_out = out->data + start;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return -ENOMEM;
    out->len = start + (bound - z->avail_out);
    return 0;
}
