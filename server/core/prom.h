/* prom: the Prometheus text exposition format (version 0.0.4), written into a
 * bytebuf. Thread-neutral (no I/O): both threads' parts of /metrics use it.
 *
 * Label values are escaped as the format requires (backslash, double quote,
 * line feed) and never truncated, so a namespace or a node id can never inject
 * a line. Names and HELP texts are the caller's constants. Appends that run
 * out of memory leave the buffer as it was before that line. */
#ifndef SIO_PROM_H
#define SIO_PROM_H

#include <stddef.h>

#include "bytebuf.h"

typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

/* "# HELP name text\n# TYPE name type\n" */
int prom_header(bytebuf *out, const char *name, const char *type, const char *help);
/* name{l1="v1",...} value\n ; `n` labels (0: no braces) */
int prom_sample(bytebuf *out, const char *name, const prom_label *labels, size_t n, double value);

#endif
