/* Error replies: {"error": "..."}. */
#include "admin.h"
#include "httputil.h"

void reply_error(struct evhttp_request *req, int status, const char *error)
{
    http_send_json(req, status, json_pack("{s:s}", "error", error));
}
