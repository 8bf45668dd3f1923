/* HTTP/1.1 POST /put to routerd (SPEC section 3) on a keep-alive
 * connection, one request at a time: the publisher of the put workload.
 * A reply counts as accepted when it is 200 with "code":0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pushbench.h"

#define HTTP_HEAD_MAX 16384

static void http_open(struct pb_conn *c)
{
    pb_conn_ready(c);
}

static void http_publish(struct pb_conn *c, int64_t channel, uint64_t seq, const char *body,
                         size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "POST /put?channel_id=%lld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Length: %zu\r\n\r\n", (long long)channel, len);

    (void)seq;
    pb_conn_write(c, head, (size_t)n);
    pb_conn_write(c, body, len);
}

/* The value of header `name` (with its ':') in the head, or NULL. */
static const char *http_header(const char *head, size_t hl, const char *name)
{
    size_t nl = strlen(name);

    for (const char *p = head; p != NULL && (size_t)(p - head) + 2 + nl < hl;
         p = memchr(p + 1, '\n', hl - (size_t)(p + 1 - head))) {
        if (strncasecmp(p + 1, name, nl) == 0)
            return p + 1 + nl;
    }
    return NULL;
}

static ssize_t http_input(struct pb_conn *c, const char *data, size_t len)
{
    size_t off = 0;

    while (off < len) {
        const char *head = data + off, *end, *v;
        size_t hl, clen = 0;
        int status;

        end = memmem(head, len - off, "\r\n\r\n", 4);
        if (end == NULL)
            return len - off > HTTP_HEAD_MAX ? -1 : (ssize_t)off;
        hl = (size_t)(end - head) + 4;
        if (hl < 12 || strncmp(head, "HTTP/1.", 7) != 0)
            return -1;
        status = atoi(head + 9);
        if ((v = http_header(head, hl, "Content-Length:")) != NULL)
            clen = strtoul(v, NULL, 10);
        else if (http_header(head, hl, "Transfer-Encoding:") != NULL)
            return -1;   /* routerd sends a length; chunked is not spoken here */
        if (len - off - hl < clen)
            break;
        if (status == 200 && memmem(head + hl, clen, "\"code\":0", 8) != NULL) {
            pb_conn_acked(c, 1);
        } else {
            pb_conn_error(c, head + hl, clen);
            pb_conn_acked(c, 0);
        }
        off += hl + clen;
    }
    return (ssize_t)off;
}

const struct pb_proto pb_proto_http = {
    "http", 1, http_open, http_publish, http_input, NULL,
};
