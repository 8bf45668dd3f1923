/* Allocation that aborts on failure (daemons only; parsers of untrusted
 * input in common/ return errors instead of allocating). */
#ifndef PG_XMALLOC_H
#define PG_XMALLOC_H
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);          /* overflow-checked */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
