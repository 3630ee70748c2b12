#include "eio_config.h"

void eio_config_defaults(eio_config *c)
{
    c->path = "/engine.io/";
    c->ping_interval_ms = 25000;
    c->ping_timeout_ms = 20000;
    c->upgrade_timeout_ms = 10000;
    c->max_payload = 1000000;
    c->transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    c->allow_upgrades = 1;
    c->cors_origins = NULL;
    c->cookie_name = NULL;
    c->max_queue_frames = 4096;
    c->max_queue_bytes = 4u << 20;
    c->max_sessions = 0;
    c->max_sessions_per_ip = 0;
    c->keep_headers = 0;
    c->plain_path = NULL;
    c->per_message_deflate = 0;
    c->deflate_threshold = 1024;
    c->http_compression = 1;
    c->http_compression_threshold = 1024;
    c->allow_eio3 = 0;
}
