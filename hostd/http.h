/* The EC2 API's HTTP listener (libmicrohttpd, one internal thread: handlers
 * run one at a time, so the store needs no locking). */
#pragma once
#include <stdint.h>

struct hostd;
struct http_server;

/* listen: "ADDR:PORT" or "[ADDR6]:PORT"; port 0 picks a free one. */
int http_start(struct http_server **out, struct hostd *h, const char *listen);
/* The bound port (useful with port 0). */
uint16_t http_port(struct http_server *s);
void http_stop(struct http_server *s);
