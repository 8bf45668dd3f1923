/* The device protocol's errors (SPEC 2.2): the one place their names are
 * spelled, and whether each closes the connection. The broker writes them
 * through one call (conn_fail) that reads `fatal` from here; clients
 * (pushcat) recognise them with proto_error_is. */
#ifndef PG_PROTO_ERRORS_H
#define PG_PROTO_ERRORS_H
#include <stddef.h>

enum proto_error {
    ERR_BAD_PROTOCOL,            /* the magic is wrong */
    ERR_INVALID,                 /* unknown command, wrong words, a bad id */
    ERR_LINE_TOO_LONG,           /* E_INVALID for a line over 1024 bytes */
    ERR_INVALID_CLIENT,          /* not identified */
    ERR_BAD_BODY,                /* IDENTIFY's body */
    ERR_UNAUTHORIZED,            /* missing or wrong token */
    ERR_BAD_CHANNEL,
    ERR_BAD_MESSAGE,             /* a PUB body over max_msg_size */
    ERR_FIN_FAILED,
    ERR_REPLACED,                /* a newer connection identified as this device */
    ERR_DISCONNECTED,            /* by an administrator */
    ERR_IDENTIFY_FAILED,         /* Redis could not answer: try again */
    ERR_SUB_FAILED,
    ERR_UNSUB_FAILED,
    ERR_COUNT,
};

struct proto_error_def {
    const char *name;            /* the Error frame's first word */
    int fatal;                   /* the connection closes after it */
    const char *reason;          /* said when the caller gives none (may be NULL) */
};

extern const struct proto_error_def proto_errors[ERR_COUNT];

/* Whether an Error frame's data (len bytes: a name, maybe a space and a
 * reason) is error e. */
int proto_error_is(const char *data, size_t len, enum proto_error e);

#endif
