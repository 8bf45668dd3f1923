/* A script's arguments built for a mesh call (mesh_chan.h): the calls
 * whose keys and values grow with their arrays share this. */
#include <stdlib.h>
#include <string.h>

#include "mesh_chan.h"
#include "xmalloc.h"

void mesh_args_init(struct mesh_args *a, size_t nargs, size_t nkey_bufs)
{
    a->argv = xcalloc(nargs, sizeof(*a->argv));
    a->lens = xcalloc(nargs, sizeof(*a->lens));
    a->key = xcalloc(nkey_bufs ? nkey_bufs : 1, sizeof(*a->key));
    a->argc = 0;
}

void mesh_args_add(struct mesh_args *a, const char *s, size_t len)
{
    a->argv[a->argc] = s;
    a->lens[a->argc++] = len;
}

void mesh_args_add_str(struct mesh_args *a, const char *s)
{
    mesh_args_add(a, s, strlen(s));
}

void mesh_args_free(struct mesh_args *a)
{
    free(a->argv);
    free(a->lens);
    free(a->key);
}
