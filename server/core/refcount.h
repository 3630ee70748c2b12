/* refcount: the one reference count of the immutable shared objects (frames,
 * encoded packets, cluster messages), safe across the two threads. A new
 * reference needs no ordering; dropping one releases the object's writes to
 * whichever thread frees it (acq_rel). */
#ifndef SIO_REFCOUNT_H
#define SIO_REFCOUNT_H

#include <stdatomic.h>

static inline void refcount_init(atomic_uint *r)
{
    atomic_init(r, 1);
}

static inline void refcount_get(atomic_uint *r)
{
    atomic_fetch_add_explicit(r, 1, memory_order_relaxed);
}

/* 1 when that was the last reference: the caller frees the object. */
static inline int refcount_put(atomic_uint *r)
{
    return atomic_fetch_sub_explicit(r, 1, memory_order_acq_rel) == 1;
}

#endif
