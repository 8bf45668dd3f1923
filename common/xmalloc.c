/* Allocation that aborts on failure. For the daemons, where running out of
 * memory has no sensible recovery; parsers of untrusted input in common/
 * report errors instead of calling these. */
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xmalloc_die(const char *what, size_t nmemb, size_t size)
{
    fprintf(stderr, "fatal: %s(%zu, %zu): out of memory\n", what, nmemb, size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        xmalloc_die("xmalloc", 1, size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    if (nmemb > SIZE_MAX / size)
        xmalloc_die("xcalloc", nmemb, size);
    void *p = calloc(nmemb, size);
    if (p == NULL)
        xmalloc_die("xcalloc", nmemb, size);
    return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    if (nmemb > SIZE_MAX / size)
        xmalloc_die("xreallocarray", nmemb, size);
    void *p = realloc(ptr, nmemb * size);
    if (p == NULL)
        xmalloc_die("xreallocarray", nmemb, size);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* Copies at most n bytes of s (stopping at a NUL) and terminates the copy. */
char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
