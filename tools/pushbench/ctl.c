/* The pipes between the parent and its workers: fixed-size messages
 * (struct pb_ctl), a result's bytes after CTL_RESULT. Both ends are the
 * same binary, so structs travel as they are. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pushbench.h"

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int ctl_send(int fd, enum pb_ctl_type type, uint64_t a, uint64_t b, const void *payload,
             uint32_t len)
{
    struct pb_ctl m;

    memset(&m, 0, sizeof(m));
    m.type = (uint32_t)type;
    m.len = len;
    m.a = a;
    m.b = b;
    if (write_all(fd, &m, sizeof(m)) != 0)
        return -1;
    return len > 0 ? write_all(fd, payload, len) : 0;
}

int ctl_recv(int fd, struct pb_ctl *m)
{
    char *p = (char *)m;
    size_t have = 0;

    while (have < sizeof(*m)) {
        ssize_t n = read(fd, p + have, sizeof(*m) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}
