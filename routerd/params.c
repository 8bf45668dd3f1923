/* Request parameters: the query string, plus a form body where allowed.
 * The first occurrence of a name wins; the query string comes first. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "numparse.h"
#include "router.h"
#include "xmalloc.h"

#define FORM_TYPE "application/x-www-form-urlencoded"

static int params_add_form(struct evhttp_request *req, struct evkeyvalq *out)
{
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (!type || strncasecmp(type, FORM_TYPE, strlen(FORM_TYPE)) != 0 || len == 0)
        return 0;
    char *text = xmalloc(len + 1);
    evbuffer_copyout(in, text, len);
    text[len] = '\0';
    struct evkeyvalq form;
    int rc = evhttp_parse_query_str(text, &form);
    free(text);
    if (rc != 0) {
        evhttp_clear_headers(&form);
        return -1;
    }
    for (struct evkeyval *kv = form.tqh_first; kv; kv = kv->next.tqe_next)
        evhttp_add_header(out, kv->key, kv->value);
    evhttp_clear_headers(&form);
    return 0;
}

int params_read(struct evhttp_request *req, int with_form, struct evkeyvalq *out)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    out->tqh_first = NULL;
    out->tqh_last = &out->tqh_first;
    if (query && evhttp_parse_query_str(query, out) != 0)
        return -1;
    if (with_form && params_add_form(req, out) != 0)
        return -1;
    return 0;
}

void params_free(struct evkeyvalq *kv)
{
    evhttp_clear_headers(kv);
}

int params_uint(struct evkeyvalq *kv, const char *name, uint64_t min, uint64_t max,
                uint64_t *out)
{
    const char *v = evhttp_find_header(kv, name);
    if (!v)
        return -1;
    return parse_uint_range(v, strlen(v), min, max, out) == 0 ? 0 : -2;
}

int params_id(struct evkeyvalq *kv, const char *name, int64_t *out)
{
    const char *v = evhttp_find_header(kv, name);
    if (!v)
        return -1;
    return parse_id(v, strlen(v), out) == 0 ? 0 : -2;
}
