/* Frames from broker to client (SPEC 2.3):
 * [4-byte BE size][4-byte BE type][data], size = 4 + len(data). */
#ifndef PG_FRAME_H
#define PG_FRAME_H
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum frame_type {
    FRAME_RESPONSE = 0,
    FRAME_ERROR = 1,
    FRAME_MESSAGE = 2,
    FRAME_ACK = 3,
};

#define FRAME_HEADER_LEN 8
/* Longest Message header line: 5 decimal int64s, 4 spaces and '\n'. */
#define FRAME_MSG_LINE_MAX (5 * 20 + 5)

struct frame_msg_meta {
    int64_t message_id;
    int64_t channel_id;
    int64_t from_client_id;
    int64_t timestamp_ms;
    int64_t attempt;
};

/* Writes the 8-byte header for a frame carrying data_len bytes. */
void frame_header(unsigned char out[FRAME_HEADER_LEN], enum frame_type type, size_t data_len);
/* Appends a whole frame to out. Returns 0, or -1 if libevent failed. */
int frame_add(struct evbuffer *out, enum frame_type type, const void *data, size_t len);
int frame_add_str(struct evbuffer *out, enum frame_type type, const char *s);
/* Error frame: the error's name, then a space and the reason unless it is
 * NULL or empty (SPEC 2.3; the names are in proto_errors.h). */
int frame_add_error(struct evbuffer *out, const char *name, const char *reason);
/* Ack frame "ACK <ok> <message_id> <client_id>". */
int frame_add_ack(struct evbuffer *out, int ok, int64_t message_id, int64_t client_id);
/* Formats the Message header line "<mid> <ch> <from> <ts> <attempt>\n" into
 * buf (at least FRAME_MSG_LINE_MAX bytes); returns its length. */
size_t frame_msg_line(char *buf, const struct frame_msg_meta *m);
/* Appends a complete Message frame. */
int frame_add_message(struct evbuffer *out, const struct frame_msg_meta *m,
                      const void *body, size_t body_len);

/* Client side: result of frame_take. */
enum frame_status { FRAME_OK = 0, FRAME_NEED_MORE = 1, FRAME_BAD = -1 };
/* If a whole frame is in `in`, removes it: *type and a malloc'd copy of the
 * data (NUL-terminated, caller frees) with its length. A size below 4 or
 * above max_len + 4 is FRAME_BAD. */
enum frame_status frame_take(struct evbuffer *in, size_t max_len,
                             enum frame_type *type, char **data, size_t *len);
/* Splits a Message frame's data into its meta and body. Returns 0 or -1. */
int frame_msg_parse(const char *data, size_t len, struct frame_msg_meta *m,
                    const char **body, size_t *body_len);

#endif
