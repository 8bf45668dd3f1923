/* JSON replies. */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "httputil.h"

void reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    http_send(req, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
}

void reply_error(struct evhttp_request *req, int status, const char *error)
{
    reply_json(req, status, json_pack("{s:s}", "error", error));
}
