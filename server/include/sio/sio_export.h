/* sio_export.h: SIO_API marks the functions that libsio exports.
 *
 * The libraries libsio is made of are compiled with -fvisibility=hidden, so
 * only declarations marked SIO_API (in the public headers: sio.h,
 * sio_engine.h, sio_edge.h) are visible to programs linking libsio.so; the
 * rest of the code stays internal. Part of the installed, public header set. */
#ifndef SIO_SIO_EXPORT_H
#define SIO_SIO_EXPORT_H

#if defined(__GNUC__) && __GNUC__ >= 4
#define SIO_API __attribute__((visibility("default")))
#else
#define SIO_API
#endif

#endif
