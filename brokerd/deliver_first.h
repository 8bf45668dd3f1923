/* Deliver first (docs/DESIGN.md, "Deliver first" and "Handing over"): a
 * PUB written to its devices before Redis has it, on the sender's loop
 * (pub_fast.c) or handed to a sibling loop in memory (handoff.c), and the
 * barrier a device that registers waits behind (pub_barrier.c). Their
 * state is in broker.h (struct broker, struct broker_proc). */
#ifndef PG_DELIVER_FIRST_H
#define PG_DELIVER_FIRST_H
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

/* pub_fast.c: deliver first, acknowledge when durable (docs/DESIGN.md) */
/* PUB of c to device `to` (0: to channel): written now to the device, or
 * the channel's subscribers here, if it may be; then the msg (a reference
 * for the PUB's reply) and *at the ms proposed for its entry id. Or
 * handed to the sibling loop that holds them: NULL, *at, and *loop that
 * loop's index. NULL and *loop -1: the script's path (an order mark is
 * due). On a write first *loop is this loop's index. */
struct msg *pub_fast_write(struct session *c, int64_t to, int64_t channel, int64_t mid,
                           const char *body, size_t len, uint64_t *at, int *loop);
/* The sessions here a PUB to device `to` (0: to channel) reaches: *n of
 * them, from the array returned (one holds a device's). */
struct session **pub_fast_reach(struct broker *b, int64_t to, int64_t channel,
                                struct session **one, uint32_t *n);
/* Whether device `to`, or (to 0) a subscriber of channel, is here. */
int pub_fast_here(struct broker *b, int64_t to, int64_t channel);
/* Writes a PUB of `from` to its target on this loop if it may be written
 * now: the msg (the caller's reference), or NULL. */
struct msg *pub_fast_deliver(struct broker *b, int64_t to, int64_t channel, int64_t from,
                             int64_t mid, uint64_t at, const char *body, size_t len);
/* The PUB's reply: id (len bytes) its entry, or NULL when it failed (the
 * records are dropped). Takes m's reference. */
void pub_fast_done(struct broker *b, struct msg *m, int64_t to, const char *id, size_t len);
/* A handed-over PUB's write failed: its records here, if Redis never
 * showed its entry, are dropped. */
void pub_fast_failed(struct broker *b, int64_t to, int64_t channel, int64_t from, int64_t mid);
/* "F <to> <channel> <entry id> <from> <mid>" and "Z <loop> <seq>"
 * (notice.c parses them). */
void pub_fast_notice(struct broker *b, int64_t to, int64_t channel, struct eid eid, int64_t from,
                     int64_t mid);
void pub_fast_mark(struct broker *b, int loop, uint64_t seq);
/* This loop sends an order mark after the scripts of this pass. */
void pub_fast_ask_mark(struct broker *b);
/* A catch-up read of c's stream s found entry eid of (from, mid): 1 when
 * it is a fast record's (covered now, not to write again). */
int pub_fast_seen(struct session *c, struct stream_state *s, struct eid eid, int64_t from,
                  int64_t mid);
/* c's IDENTIFY answered: the last connection ended (clean) at since_ms. */
void pub_fast_identified(struct session *c, int64_t since_ms, int clean);
void pub_fast_forget(struct session *c);   /* its connection ends */
int pub_fast_init(struct broker *b);
void pub_fast_free(struct broker *b);      /* at teardown */

/* pub_barrier.c: the barrier of a device that registers (struct pub_barrier) */
void pub_barrier_register(struct session *c);  /* c is in b->clients now */
/* c's stream s joined its channel here after c registered (SUB, an S
 * notice): the same barrier for the stream. */
void pub_barrier_join(struct session *c, struct stream_state *s);
void pub_barrier_passed(struct broker *b);     /* a mark came back */
void pub_barrier_tick(struct broker *b, int64_t mono);
void pub_barrier_free(struct broker *b);       /* at teardown */

/* handoff.c: PUBs handed between the loops of one process */
_Static_assert(LOOPS_MAX <= 64, "a channel's loops are a 64-bit mask");
void handoff_dir_init(struct broker_proc *p);
void handoff_dir_free(struct broker_proc *p);
void handoff_dev_here(struct session *c);      /* c took its id over on its loop */
void handoff_dev_gone(struct session *c);      /* c left b->clients */
void handoff_chan_here(struct broker *b, int64_t channel);  /* its first subscriber here */
void handoff_chan_gone(struct broker *b, int64_t channel);  /* its last one left */
/* The sibling loop that alone holds device `to`, or (to 0) channel's
 * subscribers; -1: none (or several, or this one). */
int handoff_target(struct broker *b, int64_t to, int64_t channel);
/* Whether a sibling loop holds subscribers of channel. */
int handoff_elsewhere(struct broker *b, int64_t channel);
void handoff_write(struct broker *b, int loop, int64_t to, int64_t channel, int64_t from,
                   int64_t mid, uint64_t at, uint64_t mark_wait, const char *body, size_t len);
void handoff_drop(struct broker *b, int loop, int64_t to, int64_t channel, int64_t from,
                  int64_t mid);
/* Loop `loop` (this one or a sibling) sends an order mark soon. */
void handoff_ask_mark(struct broker *b, int loop);
/* Whether a handed-over PUB to `to` (0: to channel stream) waits here. */
int handoff_holding(const struct broker *b, int64_t to, int64_t stream);
/* F of a held PUB: delivered now as its notice would be. 1 if it was one. */
int handoff_release(struct broker *b, int64_t to, int64_t channel, struct eid eid, int64_t from,
                    int64_t mid);
void handoff_tick(struct broker *b, int64_t mono);
/* Takes what sibling loops pushed. Before the F notice of (to, channel,
 * from, mid) (else mid 0): the PUB it names was pushed before its script
 * was sent, and a drop of it is void (Redis has it). */
void handoff_drain(struct broker *b, int64_t to, int64_t channel, int64_t from, int64_t mid);
int handoff_init(struct broker *b);
void handoff_stop(struct broker *b);           /* at a loop's teardown: its events */
/* Once every loop is torn down (a loop's teardown may still push to a
 * sibling's inbox: the drops of its PUBs in flight). */
void handoff_free(struct broker *b);

#endif
