/* A broker loop and sessions for unit tests of brokerd's pure modules,
 * on a transport that records what it is asked to write. */
#ifndef PG_TEST_BROKERD_FAKE_H
#define PG_TEST_BROKERD_FAKE_H
#include "broker.h"

#define FAKE_WRITES_MAX 16

/* The transport's struct: the session first, as for tcp_conn. */
struct fake_conn {
    struct session s;
    int nwrites;
    int64_t written_mid[FAKE_WRITES_MAX];
    int64_t written_attempt[FAKE_WRITES_MAX];
    size_t queued;               /* what the transport says is waiting */
};

extern int fake_catch_ups;       /* catch_up_stream calls */

void fake_broker(struct broker *b);
void fake_broker_free(struct broker *b);
/* A session of b with device id `client_id` and an inbox stream. */
struct fake_conn *fake_conn_new(struct broker *b, int64_t client_id);
void fake_conn_free(struct fake_conn *f);
/* A message of stream `stream` with id mid and entry id ms-seq. */
struct msg *fake_msg(int64_t mid, int64_t stream, uint64_t ms, uint64_t seq);

#endif
