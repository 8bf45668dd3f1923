/* pushcat's side of SPEC 2.8: what IDENTIFY asks for (--tls, --deflate)
 * and what the broker's JSON reply granted. */
#ifndef PG_PUSHCAT_LAYERS_H
#define PG_PUSHCAT_LAYERS_H
#include <stddef.h>

/* Appends ,"tls_v1":true and ,"deflate":true,"deflate_level":level to an
 * IDENTIFY body being written at json + n (cap bytes in all); the new n. */
int pushcat_ask_layers(char *json, int n, size_t cap, int tls, int level);
/* From IDENTIFY's JSON reply: *tls 1 if TLS was granted, *level the
 * deflate level granted (0: none). 0, or -1 if it is not that JSON. */
int pushcat_granted(const char *reply, int *tls, int *level);

#endif
