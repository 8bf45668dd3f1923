/* Strict decimal parsing for ids and plain numbers (SPEC sections 1, 2.6):
 * digits only, no sign, no leading zero, no spaces, never truncated. */
#ifndef PG_NUMPARSE_H
#define PG_NUMPARSE_H
#include <stddef.h>
#include <stdint.h>

/* An id: [1-9][0-9]*, at most INT64_MAX. s need not be NUL-terminated.
 * Returns 0 and stores *out, or -1. */
int parse_id(const char *s, size_t len, int64_t *out);
/* An id or "0" (PUB's client_id). */
int parse_id_or_zero(const char *s, size_t len, int64_t *out);
/* A plain number: "0" or [1-9][0-9]*, in [min, max]. Empty is malformed. */
int parse_uint_range(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

#endif
