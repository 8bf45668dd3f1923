/* 32-bit big-endian integers in a byte buffer: the frame header's fields
 * (SPEC 2.3), PUB's body length, SHA-256's words. Any alignment, char or
 * unsigned char. */
#ifndef PG_BE32_H
#define PG_BE32_H
#include <stdint.h>

static inline void put_be32(void *buf, uint32_t v)
{
    unsigned char *p = buf;
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t get_be32(const void *buf)
{
    const unsigned char *p = buf;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
