/* random_id: 20-character URL-safe ids (120 bits from OpenSSL's RAND_bytes),
 * used for Engine.IO session ids and Socket.IO socket ids. */
#ifndef SIO_RANDOM_ID_H
#define SIO_RANDOM_ID_H

#include "eio_query.h"

#define RANDOM_ID_LEN EIO_QUERY_SID_LEN /* the one id length: sids, socket ids */

void random_id(char out[RANDOM_ID_LEN + 1]);

#endif
