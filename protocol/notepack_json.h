/* notepack_json: a JSON value (jansson) written as msgpack the way npm
 * notepack.io writes the JavaScript value JSON.parse gives for it. Pure.
 *
 * Integral numbers take the smallest int form (-0 is 0), the rest float64
 * (integral values beyond [-2^63, 2^64) too, where notepack would wrap them);
 * an object's members go in JavaScript's own-key order: array indices
 * ascending, then the other keys in insertion order. A binary placeholder
 * {"_placeholder": true, ...} is handed to the writer's hook, which writes the
 * bin it names; without a hook it is a map like any other.
 *
 * Shared by the adapter's format (adapter_msg.c) and socket.io-msgpack-
 * parser's (sio_msgpack.c). The writer packs into a bytebuf it does not own;
 * on error (-1: nesting deeper than NOTEPACK_MAX_DEPTH, a placeholder the
 * hook refuses, out of memory) the bytes written so far stay: the caller
 * truncates. */
#ifndef SIO_NOTEPACK_JSON_H
#define SIO_NOTEPACK_JSON_H

#include <stddef.h>

#include <jansson.h>
#include <msgpack.h>

#include "bytebuf.h"

#define NOTEPACK_MAX_DEPTH 2048 /* the text writer's bound; jansson's parser stops at 2048 too */

typedef struct notepack_writer notepack_writer;
struct notepack_writer {
    msgpack_packer pk;
    /* Writes the bin `obj` (a placeholder) names: 0, or -1. NULL: none. */
    int (*placeholder)(notepack_writer *w, const json_t *obj);
    const void *bins; /* what the hook reads (its own type) */
    size_t n_bins;
};

void notepack_writer_init(notepack_writer *w, bytebuf *out,
                          int (*placeholder)(notepack_writer *w, const json_t *obj),
                          const void *bins, size_t n_bins);
int notepack_put_str(notepack_writer *w, const char *s, size_t len);
int notepack_put_json(notepack_writer *w, const json_t *v);

#endif
