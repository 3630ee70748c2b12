/* prom: Prometheus text lines with escaped label values. See prom.h. */
#include "prom.h"

#include <stdio.h>
#include <string.h>

int prom_header(bytebuf *out, const char *name, const char *type, const char *help)
{
    size_t mark = out->len;
    if (bytebuf_append_str(out, "# HELP ") || bytebuf_append_str(out, name) ||
        bytebuf_append_byte(out, ' ') || bytebuf_append_str(out, help) ||
        bytebuf_append_str(out, "\n# TYPE ") || bytebuf_append_str(out, name) ||
        bytebuf_append_byte(out, ' ') || bytebuf_append_str(out, type) ||
        bytebuf_append_byte(out, '\n')) {
        out->len = mark;
        return -1;
    }
    return 0;
}

static int append_escaped(bytebuf *out, const char *v)
{
    for (; *v; v++) {
        int rc = *v == '\\'  ? bytebuf_append_str(out, "\\\\")
                 : *v == '"' ? bytebuf_append_str(out, "\\\"")
                 : *v == '\n' ? bytebuf_append_str(out, "\\n")
                              : bytebuf_append_byte(out, (uint8_t)*v);
        if (rc)
            return -1;
    }
    return 0;
}

static int append_labels(bytebuf *out, const prom_label *labels, size_t n)
{
    if (bytebuf_append_byte(out, '{'))
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((i && bytebuf_append_byte(out, ',')) || bytebuf_append_str(out, labels[i].name) ||
            bytebuf_append_str(out, "=\"") || append_escaped(out, labels[i].value) ||
            bytebuf_append_byte(out, '"'))
            return -1;
    return bytebuf_append_byte(out, '}');
}

int prom_sample(bytebuf *out, const char *name, const prom_label *labels, size_t n, double value)
{
    size_t mark = out->len;
    char num[40];
    snprintf(num, sizeof(num), " %.17g\n", value);
    if (bytebuf_append_str(out, name) || (n && append_labels(out, labels, n)) ||
        bytebuf_append_str(out, num)) {
        out->len = mark;
        return -1;
    }
    return 0;
}
