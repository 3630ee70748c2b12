/* eio_config: Engine.IO server options, with the defaults of npm engine.io 6.x
 * (plus sio's own bounds on send queues). Plain data, owned by whoever embeds it.
 * The options are part of the public C API (sio_config embeds them): eio_config,
 * eio_config_defaults() and EIO_TRANSPORT_* are declared in the public
 * sio_engine.h (server/include/sio/). */
#ifndef SIO_EIO_CONFIG_H
#define SIO_EIO_CONFIG_H

#include "sio_engine.h"

#endif
