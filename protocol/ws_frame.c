/* ws_frame: RFC 6455 frame headers, unmasking, UTF-8 validation and the
 * handshake's accept key. See ws_frame.h for the contract. */
#include "ws_frame.h"

#include <string.h>

#include <openssl/evp.h>

static int known_opcode(uint8_t op)
{
    return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

/* Bytes of extended length after the 2-byte base header: 0, 2 or 8. */
static size_t extended_len_bytes(uint8_t len7)
{
    return len7 == 127 ? 8 : len7 == 126 ? 2 : 0;
}

static uint64_t read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int check_base(const ws_frame_hdr *h, int require_mask, uint8_t allowed_rsv)
{
    if ((h->rsv & ~allowed_rsv) || !known_opcode(h->opcode))
        return -WS_CLOSE_PROTOCOL_ERROR;
    if (h->opcode >= WS_OP_CLOSE && !h->fin)
        return -WS_CLOSE_PROTOCOL_ERROR; /* control frames are never fragmented */
    if (require_mask && !h->masked)
        return -WS_CLOSE_PROTOCOL_ERROR; /* RFC 6455 5.1: clients must mask */
    return 0;
}

int ws_frame_parse_header(const uint8_t *p, size_t n, int require_mask, uint8_t allowed_rsv,
                          ws_frame_hdr *h)
{
    if (n < 2)
        return 0;
    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 0x7;
    h->opcode = p[0] & 0xf;
    h->masked = p[1] >> 7;
    int rc = check_base(h, require_mask, allowed_rsv);
    if (rc)
        return rc;
    uint8_t len7 = p[1] & 0x7f;
    if (h->opcode >= WS_OP_CLOSE && len7 > 125)
        return -WS_CLOSE_PROTOCOL_ERROR;
    size_t ext = extended_len_bytes(len7);
    size_t need = 2 + ext + (h->masked ? 4 : 0);
    if (n < need)
        return 0;
    h->len = ext ? read_be(p + 2, ext) : len7;
    if (h->len >> 63)
        return -WS_CLOSE_PROTOCOL_ERROR;
    if (h->masked)
        memcpy(h->mask, p + 2 + ext, 4);
    else
        memset(h->mask, 0, 4);
    h->header_len = need;
    return (int)need;
}

void ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    size_t i = 0;
    unsigned k = (unsigned)(offset & 3);
    for (; i < n && k; i++, k = (k + 1) & 3) /* up to a 4-byte phase */
        p[i] ^= mask[k];
    uint32_t m32;
    memcpy(&m32, mask, 4);
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        w ^= m32;
        memcpy(p + i, &w, 4);
    }
    for (k = 0; i < n; i++, k++)
        p[i] ^= mask[k];
}

/* ---- UTF-8 ---------------------------------------------------------------
 * state: bits 0-7 continuation bytes still expected, bits 8-15 and 16-23 the
 * lowest and highest value allowed for the next one (RFC 3629's table: E0 is
 * followed by A0..BF, ED by 80..9F, F0 by 90..BF, F4 by 80..8F). */

static uint32_t utf8_state(uint32_t need, uint32_t lo, uint32_t hi)
{
    return need | lo << 8 | hi << 16;
}

static int utf8_lead(uint8_t c, uint32_t *state)
{
    if (c < 0x80)
        *state = 0;
    else if (c >= 0xc2 && c <= 0xdf)
        *state = utf8_state(1, 0x80, 0xbf);
    else if (c == 0xe0)
        *state = utf8_state(2, 0xa0, 0xbf);
    else if (c == 0xed)
        *state = utf8_state(2, 0x80, 0x9f);
    else if (c >= 0xe1 && c <= 0xef)
        *state = utf8_state(2, 0x80, 0xbf);
    else if (c == 0xf0)
        *state = utf8_state(3, 0x90, 0xbf);
    else if (c >= 0xf1 && c <= 0xf3)
        *state = utf8_state(3, 0x80, 0xbf);
    else if (c == 0xf4)
        *state = utf8_state(3, 0x80, 0x8f);
    else
        return -1;
    return 0;
}

int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n)
{
    uint32_t st = u->state;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if ((st & 0xff) == 0) {
            if (c < 0x80)
                continue;
            if (utf8_lead(c, &st))
                return -1;
            continue;
        }
        if (c < ((st >> 8) & 0xff) || c > ((st >> 16) & 0xff))
            return -1;
        st = utf8_state((st & 0xff) - 1, 0x80, 0xbf);
        if ((st & 0xff) == 0)
            st = 0;
    }
    u->state = st;
    return 0;
}

int ws_utf8_complete(const ws_utf8 *u)
{
    return (u->state & 0xff) == 0;
}

/* ---- server frames and the handshake -------------------------------------- */

size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len)
{
    return ws_frame_header_rsv(out, opcode, 0, len);
}

size_t ws_frame_header_rsv(uint8_t *out, uint8_t opcode, uint8_t rsv, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (rsv & 0x7) << 4 | (opcode & 0xf));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int ws_accept_key(const char *key, size_t key_len, char out[29])
{
    /* a 16-byte nonce is 22 base64 characters and "==" (as ws checks it) */
    if (key_len != 24 || key[22] != '=' || key[23] != '=')
        return -1;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64_char(key[i]))
            return -1;
    unsigned char in[24 + sizeof(ws_guid) - 1];
    memcpy(in, key, 24);
    memcpy(in + 24, ws_guid, sizeof(ws_guid) - 1);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_Digest(in, sizeof(in), digest, &dlen, EVP_sha1(), NULL) || dlen != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, digest, 20);
    out[28] = '\0';
    return 0;
}
