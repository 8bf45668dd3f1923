/* Channel names (SPEC 5.2, 5.5 "Names"; docs/DESIGN.md, "Channel names"):
 * 1..128 bytes of printable ASCII without spaces, compared as bytes; the
 * TCP protocol's channel ids are the names that are ids. The one place in
 * C that writes these rules; lua/lib.lua (pg.chan_*) in Lua. */
#ifndef PG_CHAN_H
#define PG_CHAN_H
#include <stddef.h>
#include <stdint.h>

#define CHAN_NAME_MAX 128
/* A channel field: an id in decimal, any other name as "~name". */
#define CHAN_FIELD_PREFIX '~'
#define CHAN_FIELD_MAX (CHAN_NAME_MAX + 2)   /* the prefix, the name, a NUL */

/* Whether s (len bytes) is a channel name (reserved or not). */
int chan_name_valid(const char *s, size_t len);
/* Names starting with '$' are reserved (SPEC 5.5). */
int chan_name_reserved(const char *s, size_t len);
/* The channel field of name (valid, len bytes) in buf; returns buf. */
char *chan_field(char buf[CHAN_FIELD_MAX], const char *name, size_t len);
/* The name a channel field stands for (*name points into f): 0, or -1 when
 * f is no channel field ("0", "in", malformed). */
int chan_field_name(const char *f, size_t len, const char **name, size_t *nlen);

#endif
