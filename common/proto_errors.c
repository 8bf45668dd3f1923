/* The device protocol's error table (proto_errors.h). */
#include "proto_errors.h"

#include <string.h>

#define STORAGE_DOWN "storage unavailable, try again"

/* fatal as SPEC 2.2 marks it; E_REPLACED and E_DISCONNECTED end the
 * connection by what they say. */
const struct proto_error_def proto_errors[ERR_COUNT] = {
    [ERR_BAD_PROTOCOL] = { "E_BAD_PROTOCOL", 1, NULL },
    [ERR_INVALID] = { "E_INVALID", 0, NULL },
    [ERR_LINE_TOO_LONG] = { "E_INVALID", 1, "line longer than 1024 bytes" },
    [ERR_INVALID_CLIENT] = { "E_INVALID_CLIENT", 0, NULL },
    [ERR_BAD_BODY] = { "E_BAD_BODY", 1, NULL },
    [ERR_UNAUTHORIZED] = { "E_UNAUTHORIZED", 1, NULL },
    [ERR_BAD_CHANNEL] = { "E_BAD_CHANNEL", 0, NULL },
    [ERR_BAD_MESSAGE] = { "E_BAD_MESSAGE", 1, NULL },
    [ERR_FIN_FAILED] = { "E_FIN_FAILED", 0, "no such un-finished message" },
    [ERR_REPLACED] = { "E_REPLACED", 1, "another connection identified as this client" },
    [ERR_DISCONNECTED] = { "E_DISCONNECTED", 1, "disconnected by an administrator" },
    [ERR_IDENTIFY_FAILED] = { "E_IDENTIFY_FAILED", 0, STORAGE_DOWN },
    [ERR_SUB_FAILED] = { "E_SUB_FAILED", 0, STORAGE_DOWN },
    [ERR_UNSUB_FAILED] = { "E_UNSUB_FAILED", 0, STORAGE_DOWN },
};

int proto_error_is(const char *data, size_t len, enum proto_error e)
{
    size_t n = strlen(proto_errors[e].name);
    return len >= n && memcmp(data, proto_errors[e].name, n) == 0 && (len == n || data[n] == ' ');
}
