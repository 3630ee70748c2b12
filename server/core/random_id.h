/* random_id: 20-character URL-safe ids (120 bits from OpenSSL's RAND_bytes),
 * used for Engine.IO session ids and Socket.IO socket ids. */
#ifndef SIO_RANDOM_ID_H
#define SIO_RANDOM_ID_H

#define RANDOM_ID_LEN 20

void random_id(char out[RANDOM_ID_LEN + 1]);

#endif
