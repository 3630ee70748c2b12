/* floor_ws: the WebSocket side (RFC 6455) of a socket. The upgrade answer
 * (Sec-WebSocket-Accept by OpenSSL's SHA-1 and EVP_EncodeBlock) goes out in one
 * write with the Engine.IO open packet. Client frames must be masked, whole
 * (FIN set: fragmented messages are refused), without RSV bits and fit the
 * input buffer; text frames are Engine.IO packets (unmasked in place), a ping
 * is answered with a pong, a close with a close. Anything else closes the
 * connection with a close frame (1002 protocol error, 1003 unsupported data,
 * 1009 too big). Server frames are unmasked text frames. */
#include "floor.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define WS_PAYLOAD_MAX (FLOOR_IN_MAX - 14) /* a frame and its header fit the input buffer */

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t ws_head(uint8_t *out, size_t len)
{
    out[0] = 0x81; /* FIN, text */
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

void ws_send_text(floor_conn *c, const struct iovec *parts, int n)
{
    struct iovec iov[FLOOR_PARTS_MAX + 1];
    uint8_t head[FLOOR_WS_HEAD_MAX];
    size_t len = 0;
    n = n < FLOOR_PARTS_MAX ? n : FLOOR_PARTS_MAX;
    for (int i = 0; i < n; i++) {
        iov[i + 1] = parts[i];
        len += parts[i].iov_len;
    }
    iov[0] = (struct iovec){head, ws_head(head, len)};
    conn_sendv(c, iov, n + 1);
}

static void send_control(floor_conn *c, uint8_t opcode, const void *p, size_t n)
{
    uint8_t frame[2 + 125];
    frame[0] = (uint8_t)(0x80 | opcode);
    frame[1] = (uint8_t)n;
    memcpy(frame + 2, p, n);
    struct iovec iov = {frame, 2 + n};
    conn_sendv(c, &iov, 1);
}

/* Sends a close frame with that code and closes once it is written; returns 0
 * (the input loop stops at a closing connection). */
static ssize_t ws_fail(floor_conn *c, unsigned code)
{
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    send_control(c, 8, p, 2);
    conn_close_after(c);
    return 0;
}

void ws_upgrade(floor_conn *c, const char *key, size_t key_len)
{
    char buf[128], accept[32], resp[512], open[256];
    unsigned char sha[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof(buf), "%.*s%s", (int)(key_len < 64 ? key_len : 64), key, WS_GUID);
    SHA1((const unsigned char *)buf, (size_t)n, sha);
    EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
    char sid[FLOOR_SID_LEN + 1];
    sio_new_id(sid);
    size_t ol = sio_open_packet(open, sizeof(open), sid);
    int hl = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    size_t fl = ws_head((uint8_t *)resp + hl, ol);
    memcpy(resp + (size_t)hl + fl, open, ol);
    c->kind = K_WS;
    struct iovec iov = {resp, (size_t)hl + fl + ol};
    conn_sendv(c, &iov, 1);
}

static ssize_t on_frame(floor_conn *c, uint8_t b0, char *p, size_t len)
{
    switch (b0 & 0x0f) {
    case 1: /* text: an Engine.IO packet */
        if (sio_on_packet(c, p, len))
            return ws_fail(c, 1003);
        return 0;
    case 8: /* close: answered with the same code */
        send_control(c, 8, p, len >= 2 ? 2 : 0);
        conn_close_after(c);
        return 0;
    case 9:
        send_control(c, 10, p, len);
        return 0;
    case 10:
        return 0;
    default: /* binary, continuation: not what sio-bench sends */
        return ws_fail(c, 1003);
    }
}

ssize_t ws_on_input(floor_conn *c, char *p, size_t n)
{
    if (n < 2)
        return 0;
    uint8_t b0 = (uint8_t)p[0], b1 = (uint8_t)p[1];
    uint64_t len = b1 & 0x7f;
    size_t h = 2;
    if (!(b1 & 0x80) || (b0 & 0x70) || !(b0 & 0x80) || ((b0 & 0x08) && len > 125))
        return ws_fail(c, 1002);
    if (len >= 126) {
        h = len == 126 ? 4 : 10;
        if (n < h)
            return 0;
        len = 0;
        for (size_t i = 2; i < h; i++)
            len = len << 8 | (uint8_t)p[i];
    }
    if (len > WS_PAYLOAD_MAX)
        return ws_fail(c, 1009);
    if (n < h + 4 + len)
        return 0;
    const uint8_t *mask = (const uint8_t *)p + h;
    char *payload = p + h + 4;
    for (size_t i = 0; i < len; i++)
        payload[i] ^= (char)mask[i & 3];
    ssize_t r = on_frame(c, b0, payload, (size_t)len);
    return r < 0 ? r : (ssize_t)(h + 4 + len);
}
