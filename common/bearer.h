/* "Authorization: Bearer <token>" checks (adminhttp --admin-token, routerd
 * --put-token): compared in constant time, never logged. */
#ifndef PG_BEARER_H
#define PG_BEARER_H

struct evhttp_request;

/* 1 if want is unset or empty, or the request carries it as its bearer
 * token; else 0. */
int bearer_ok(struct evhttp_request *req, const char *want);
/* The same for an Authorization header's value (got may be NULL). */
int bearer_header_ok(const char *got, const char *want);
/* 1 if got equals want (in constant time). */
int secret_equal(const char *got, const char *want);

#endif
