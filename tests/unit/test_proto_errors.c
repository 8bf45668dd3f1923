/* proto_errors: the error table (SPEC 2.2) and recognising an error. */
#include <criterion/criterion.h>
#include <string.h>

#include "proto_errors.h"

Test(proto_errors, every_row_is_filled)
{
    for (int e = 0; e < ERR_COUNT; e++) {
        cr_assert_not_null(proto_errors[e].name, "row %d", e);
        cr_assert_eq(strncmp(proto_errors[e].name, "E_", 2), 0, "row %d", e);
    }
}

/* SPEC 2.2: fatal are E_BAD_PROTOCOL, E_INVALID for an overlong line,
 * E_BAD_BODY, E_UNAUTHORIZED, E_BAD_MESSAGE; E_REPLACED and E_DISCONNECTED
 * close as they say. */
Test(proto_errors, fatal_as_the_spec_says)
{
    int fatal = 0;
    for (int e = 0; e < ERR_COUNT; e++)
        fatal |= proto_errors[e].fatal << e;
    cr_assert_eq(fatal, 1 << ERR_BAD_PROTOCOL | 1 << ERR_LINE_TOO_LONG | 1 << ERR_BAD_BODY |
                            1 << ERR_UNAUTHORIZED | 1 << ERR_BAD_MESSAGE | 1 << ERR_REPLACED |
                            1 << ERR_DISCONNECTED);
    cr_assert_str_eq(proto_errors[ERR_LINE_TOO_LONG].name, proto_errors[ERR_INVALID].name);
}

Test(proto_errors, is)
{
    const char *a = "E_FIN_FAILED no such un-finished message";
    cr_assert(proto_error_is(a, strlen(a), ERR_FIN_FAILED));
    cr_assert(proto_error_is(a, 12, ERR_FIN_FAILED));
    cr_assert_not(proto_error_is(a, 11, ERR_FIN_FAILED));
    cr_assert_not(proto_error_is(a, strlen(a), ERR_INVALID));
    const char *b = "E_INVALID_CLIENT IDENTIFY first";
    cr_assert_not(proto_error_is(b, strlen(b), ERR_INVALID));
    cr_assert(proto_error_is(b, strlen(b), ERR_INVALID_CLIENT));
}
