/* pushbench's reading (tools/pushbench/conn.c): frames that arrive split
 * across reads, and one larger than a read, are each taken once, whole,
 * and FIN-ed in order. A real TCP connection on loopback and the real
 * pushgate adapter; the worker's bookkeeping is stubbed. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "be32.h"
#include "frame.h"
#include "pushbench.h"

/* The worker's side, which conn.c reports to. */
static int conns_ready, conns_gone;
void worker_conn_ready(struct pb_worker *w) { (void)w; conns_ready++; }
void worker_conn_gone(struct pb_worker *w, int was_ready) { (void)w; (void)was_ready; conns_gone++; }
void publisher_acked(struct pb_worker *w, struct pb_conn *c) { (void)w; (void)c; }

struct rig {
    struct pb_config cfg;
    struct pb_worker w;
    struct pb_conn c;
    int server;   /* the broker's end */
};

static void pump(struct rig *r)
{
    for (int i = 0; i < 20; i++)
        event_base_loop(r->w.base, EVLOOP_NONBLOCK);
}

/* Reads exactly n bytes the client sent. */
static void server_read(struct rig *r, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        pump(r);
        ssize_t k = recv(r->server, buf + got, n - got, MSG_DONTWAIT);
        if (k > 0)
            got += (size_t)k;
        else
            usleep(1000);
    }
}

/* On loopback the bytes are in the client's socket when send returns. */
static void server_send(struct rig *r, const char *p, size_t n)
{
    cr_assert_eq(send(r->server, p, n, 0), (ssize_t)n);
    pump(r);
}

/* Runs the client until it has taken `want` messages (or 5 s passed),
 * then checks that it took exactly that many. */
static void expect_received(struct rig *r, uint64_t want)
{
    for (int i = 0; i < 5000 && r->w.st.received < want; i++) {
        pump(r);
        usleep(1000);
    }
    pump(r);
    cr_assert_eq(r->w.st.received, want);
}

static size_t response_ok(char *p)
{
    put_be32(p, 6);
    put_be32(p + 4, FRAME_RESPONSE);
    memcpy(p + 8, "OK", 2);
    return 10;
}

/* A Message frame with id mid and a valid payload of len bytes. */
static char *message(int64_t mid, size_t len, size_t *flen)
{
    char line[64];
    int ll = snprintf(line, sizeof(line), "%lld 7 1 1700000000000 1\n", (long long)mid);
    char *f = malloc(8 + (size_t)ll + len);
    put_be32(f, (uint32_t)(4 + (size_t)ll + len));
    put_be32(f + 4, FRAME_MESSAGE);
    memcpy(f + 8, line, (size_t)ll);
    payload_fill(f + 8 + ll, len, pb_now_ns());
    *flen = 8 + (size_t)ll + len;
    return f;
}

/* A receiver connected, identified and subscribed. */
static void rig_up(struct rig *r)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    char buf[512], ok[20];

    memset(r, 0, sizeof(*r));
    conns_ready = conns_gone = 0;
    cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(l, 1), 0);
    getsockname(l, (struct sockaddr *)&sa, &sl);
    r->cfg.o.heartbeat = 60;
    r->w.cfg = &r->cfg;
    r->w.base = event_base_new();
    r->w.gather = malloc(PB_GATHER_MAX);
    r->w.rbuf = malloc(PB_READ_MAX);
    r->c.w = &r->w;
    r->c.proto = &pb_proto_pushgate;
    r->c.client_id = 5;
    r->c.channel = 7;
    cr_assert_eq(pb_conn_start(&r->c, (struct sockaddr *)&sa, sl), 0);
    r->server = accept(l, NULL, NULL);
    close(l);
    cr_assert_geq(r->server, 0);
    /* Each piece leaves at once, not held for the last one's ACK. */
    int one = 1;
    setsockopt(r->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* The magic, IDENTIFY with its JSON body, then SUB 7. */
    size_t want = 4 + 9 + 4 + strlen("{\"client_id\":5,\"heartbeat_interval\":60}") + 6;
    server_read(r, buf, want);
    cr_assert_eq(memcmp(buf + want - 6, "SUB 7\n", 6), 0);
    size_t n = response_ok(ok);
    n += response_ok(ok + n);
    server_send(r, ok, n);
    cr_assert_eq(conns_ready, 1);
    cr_assert_eq(r->c.state, PC_READY);
}

static void rig_down(struct rig *r)
{
    pb_conn_close(&r->c);
    if (r->server >= 0)
        close(r->server);
    event_base_free(r->w.base);
    free(r->w.gather);
    free(r->w.rbuf);
}

static void expect_fins(struct rig *r, const int64_t *mids, int n)
{
    char want[512], got[512];
    size_t wl = 0;
    for (int i = 0; i < n; i++)
        wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "FIN %lld\n", (long long)mids[i]);
    server_read(r, got, wl);
    cr_assert_eq(memcmp(got, want, wl), 0, "FINs: %.*s", (int)wl, got);
}

Test(pushbench_read, frames_split_across_reads_are_taken_whole)
{
    struct rig r;
    int64_t mids[] = { 101, 102, 103 };
    size_t l0, l1, l2;
    rig_up(&r);
    char *f0 = message(mids[0], 100, &l0), *f1 = message(mids[1], 100, &l1),
         *f2 = message(mids[2], 100, &l2);
    char both[512];
    memcpy(both, f0, l0);
    memcpy(both + l0, f1, 10);
    server_send(&r, both, l0 + 10);              /* one frame and a piece */
    expect_received(&r, 1);
    server_send(&r, f1 + 10, l1 - 10);           /* the rest of it */
    expect_received(&r, 2);
    server_send(&r, f2, 3);                      /* less than a header */
    expect_received(&r, 2);
    server_send(&r, f2 + 3, l2 - 3);
    expect_received(&r, 3);
    cr_assert_eq(r.w.st.bad_payloads, 0);
    cr_assert_eq(conns_gone, 0);
    expect_fins(&r, mids, 3);
    free(f0); free(f1); free(f2);
    rig_down(&r);
}

Test(pushbench_read, a_frame_larger_than_a_read_is_taken_once)
{
    struct rig r;
    int64_t mids[] = { 201, 202 };
    size_t l0, l1;
    rig_up(&r);
    char *f0 = message(mids[0], 3 * PB_READ_MAX, &l0), *f1 = message(mids[1], 50, &l1);
    for (size_t off = 0; off < l0; off += 40000) {
        expect_received(&r, 0);
        server_send(&r, f0 + off, l0 - off < 40000 ? l0 - off : 40000);
    }
    expect_received(&r, 1);
    server_send(&r, f1, l1);
    expect_received(&r, 2);
    cr_assert_eq(r.w.st.bad_payloads, 0);
    cr_assert_eq(conns_gone, 0);
    expect_fins(&r, mids, 2);
    free(f0); free(f1);
    rig_down(&r);
}

Test(pushbench_read, the_peer_closing_is_seen)
{
    struct rig r;
    rig_up(&r);
    close(r.server);
    r.server = -1;
    for (int i = 0; i < 5000 && conns_gone == 0; i++) {
        pump(&r);
        usleep(1000);
    }
    cr_assert_eq(conns_gone, 1);
    cr_assert_eq(r.c.state, PC_DEAD);
    rig_down(&r);
}
