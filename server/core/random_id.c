#include "random_id.h"

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

void random_id(char out[RANDOM_ID_LEN + 1])
{
    unsigned char raw[15];
    unsigned char b64[24];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        abort(); /* no CSPRNG: refuse to hand out guessable ids */
    EVP_EncodeBlock(b64, raw, sizeof(raw)); /* 15 bytes -> exactly 20 chars, no padding */
    for (int i = 0; i < RANDOM_ID_LEN; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[RANDOM_ID_LEN] = '\0';
}
