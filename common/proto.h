/* The device protocol's text side (SPEC 2.1, 2.2): magic, lines, words,
 * body sizes. Pure parsing; the broker's command table lives in brokerd/. */
#ifndef PG_PROTO_H
#define PG_PROTO_H
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define PROTO_MAGIC "  V1"
#define PROTO_MAGIC_LEN 4
#define PROTO_MAX_LINE 1024      /* not counting "\r\n" */
#define PROTO_MAX_WORDS 8
#define PROTO_MAX_IDENTIFY 4096  /* IDENTIFY body limit */

/* Response frames' texts (SPEC 2.3). */
/* The verbs' spelling (SPEC 2.2), shared with the client tools; what each
 * does, its words and body are brokerd's command table (brokerd/cmd.c). */
#define PROTO_VERB_H "H"
#define PROTO_VERB_IDENTIFY "IDENTIFY"
#define PROTO_VERB_SUB "SUB"
#define PROTO_VERB_UNSUB "UNSUB"
#define PROTO_VERB_PUB "PUB"
#define PROTO_VERB_FIN "FIN"
#define PROTO_VERB_CLS "CLS"
#define PROTO_RESPONSE_OK "OK"
#define PROTO_RESPONSE_CLOSE_WAIT "CLOSE_WAIT"

enum proto_status {
    PROTO_OK = 0,
    PROTO_NEED_MORE = 1,
    PROTO_TOO_LONG = -1,         /* fatal: line over PROTO_MAX_LINE */
    PROTO_BAD = -2,              /* magic mismatch */
};

/* Checks the first 4 bytes of `in` against the magic, draining them on a
 * match. PROTO_NEED_MORE until 4 bytes are there; PROTO_BAD on mismatch
 * (decided as soon as a byte differs). */
enum proto_status proto_take_magic(struct evbuffer *in);

/* Takes one line out of `in` into buf (cap >= PROTO_MAX_LINE + 1), without
 * its "\n" and an optional "\r" before it, NUL-terminated; *len is its
 * length. PROTO_TOO_LONG as soon as PROTO_MAX_LINE + 1 bytes have no "\n"
 * (or the line before "\r\n" is longer), without waiting for the newline. */
enum proto_status proto_take_line(struct evbuffer *in, char *buf, size_t cap, size_t *len);

struct proto_words {
    int n;
    const char *w[PROTO_MAX_WORDS];
    size_t len[PROTO_MAX_WORDS];
};

/* Splits a line into words separated by single spaces. Returns 0, or -1 when
 * words are not single-space separated (leading, trailing or double space)
 * or there are more than PROTO_MAX_WORDS. The first word is always filled
 * (up to the first space) even on -1 so the caller can name the command. */
int proto_split(const char *line, size_t len, struct proto_words *out);

/* Reads a 4-byte big-endian body size from the front of `in` without
 * draining it. PROTO_NEED_MORE if fewer than 4 bytes. */
enum proto_status proto_peek_size(struct evbuffer *in, uint32_t *size);

#endif
