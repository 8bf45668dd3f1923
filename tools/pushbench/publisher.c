/* The publisher worker's pacing. Three ways to send --messages:
 * - open loop at --rate messages/s, checked every 1 ms tick (a late tick
 *   sends what fell due, stamped when it leaves);
 * - open loop with --rate 0: as fast as the connections take it, keeping
 *   at most OUT_MAX bytes queued on each;
 * - closed loop (HTTP /put): one request in flight per connection, the
 *   next one sent as the answer comes (--concurrency connections).
 * Once all is sent and answered (or, without answers, written out) the
 * parent gets CTL_SENT with the count of accepted messages. */
#include <unistd.h>

#include "pushbench.h"

#define OUT_MAX (64 * 1024)

/* The next ready connection after the last one used, or NULL. */
static struct pb_conn *next_conn(struct pb_worker *w)
{
    for (uint64_t k = 0; k < w->nconns; k++) {
        struct pb_conn *c = &w->conns[w->next_conn++ % w->nconns];
        if (c->state == PC_READY)
            return c;
    }
    return NULL;
}

static void publish_one(struct pb_worker *w, struct pb_conn *c, int64_t now)
{
    const struct pb_config *cfg = w->cfg;
    int64_t channel = (int64_t)cfg->o.channel_base;

    if (!cfg->wl->shared_channel)
        channel += (int64_t)(rng_next(&w->rng) % cfg->o.conns);
    payload_fill(w->body, cfg->o.size, now);
    c->proto->publish(c, channel, w->st.sent, w->body, cfg->o.size);
    if (w->st.send_first_ns == 0)
        w->st.send_first_ns = now;
    w->st.send_last_ns = now;
    w->st.sent++;
    if (c->proto->has_ack)
        c->inflight++;
    if (cfg->wl->pub == PUB_HTTP)
        c->req_ns = now;
}

static int all_written(const struct pb_worker *w)
{
    for (uint64_t i = 0; i < w->nconns; i++)
        if (w->conns[i].state == PC_READY && pb_conn_output_len(&w->conns[i]) > 0)
            return 0;
    return 1;
}

static uint64_t count_ready(const struct pb_worker *w)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < w->nconns; i++)
        n += w->conns[i].state == PC_READY;
    return n;
}

static void check_done(struct pb_worker *w)
{
    const struct pb_proto *p = w->cfg->pub_proto;
    uint64_t accepted;

    if (w->done_sent)
        return;
    if (count_ready(w) > 0) {
        if (w->st.sent < w->cfg->o.messages)
            return;
        if (p->has_ack ? w->st.accepted + w->st.refused < w->st.sent : !all_written(w))
            return;
    }
    /* Without answers every message written counts as accepted. */
    accepted = p->has_ack ? w->st.accepted : w->st.sent;
    w->done_sent = 1;
    if (ctl_send(w->ctl_out, CTL_SENT, w->st.sent, accepted, NULL, 0) != 0)
        _exit(1);
}

void publisher_tick(struct pb_worker *w, int64_t now)
{
    const struct pb_opts *o = &w->cfg->o;
    struct pb_conn *c;

    if (!w->going || w->done_sent)
        return;
    if (w->cfg->wl->pub == PUB_HTTP) {
        for (uint64_t i = 0; i < w->nconns && w->st.sent < o->messages; i++) {
            c = &w->conns[i];
            if (c->state == PC_READY && c->inflight == 0)
                publish_one(w, c, now);
        }
    } else if (o->rate > 0) {
        double due_d = (double)(now - w->go_ns) / 1e9 * (double)o->rate + 1;
        uint64_t due = due_d >= (double)o->messages ? o->messages : (uint64_t)due_d;
        while (w->st.sent < due && (c = next_conn(w)) != NULL)
            publish_one(w, c, now);
    } else {
        uint64_t full = 0, ready = count_ready(w);
        /* Round robin until every ready connection has OUT_MAX queued. */
        while (w->st.sent < o->messages && full < ready && (c = next_conn(w)) != NULL) {
            if (pb_conn_output_len(c) >= OUT_MAX) {
                full++;
                continue;
            }
            full = 0;
            publish_one(w, c, now);
        }
    }
    check_done(w);
}

void publisher_acked(struct pb_worker *w, struct pb_conn *c)
{
    if (!w->publisher || !w->going)
        return;
    if (w->cfg->wl->pub == PUB_HTTP && w->st.sent < w->cfg->o.messages &&
        c->state == PC_READY)
        publish_one(w, c, pb_now_ns());
    check_done(w);
}
