/* rconn against a real redis-server that the test starts on a free port
 * and stops by pid: ready only once the scripts are loaded, replies to
 * commands and scripts, pending callbacks given NULL when Redis goes away,
 * reconnection with backoff (100 ms doubling), and the reply watchdog
 * (a SIGSTOPped Redis answers nothing). No mocks: the real libevent loop,
 * hiredis and TCP on loopback. REDIS_SERVER names the binary (default:
 * redis-server on PATH), as for the integration tests. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "log.h"
#include "rconn.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* How late a timer may fire on a busy machine (sanitizer builds, two
 * cores shared with other test runs). */
#define LATE_MS 150
/* How early: libevent's timers run on CLOCK_MONOTONIC_COARSE (one kernel
 * tick, 4 to 10 ms) unless asked for precise ones, and mono_ms() is not
 * coarse. */
#define EARLY_MS 10
#define TICK_MS 10

static const char *const scripts[] = {
    "return 'hi'",
    "return {KEYS[1], ARGV[1], #ARGV}",
};
/* SHA-1 of each script: what SCRIPT LOAD answers. */
static const char *const script_sha[] = {
    "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
    "8dc2818ba1623288be206a9b42ace2bc5a8f2fd5",
};

/* One test's world: Redis, the loop, the connection, what it reported. */
static struct {
    pid_t redis;
    uint16_t port;
    struct event_base *base;
    struct event *tick;
    struct rconn rc;
    int inited;
    int ready, lost;
    int loaded_at_ready;
    int64_t lost_at[8];          /* mono_ms() of the first losses */
} T;

/* What a reply callback saw. */
struct got {
    int called;
    int was_null;
    int type;
    long long integer;
    size_t elements;
    char str[3][32];             /* the string, or the first elements' */
};

/* ---- redis-server ---- */

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t redis_spawn(uint16_t port)
{
    const char *bin = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER") : "redis-server";
    char p[8];
    snprintf(p, sizeof(p), "%u", (unsigned)port);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);    /* never outlive a crashed test */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp(bin, bin, "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int redis_answers(uint16_t port)
{
    struct timeval tv = { 0, 200000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

/* Starts Redis on T.port (a new free port the first time, retried should
 * another process take it first) and waits until it answers PING. */
static void redis_start(void)
{
    int first = T.port == 0;
    for (int attempt = 0; attempt < (first ? 5 : 1); attempt++) {
        if (first)
            T.port = free_port();
        T.redis = redis_spawn(T.port);
        for (int64_t end = mono_ms() + 5000; mono_ms() < end;) {
            if (waitpid(T.redis, NULL, WNOHANG) == T.redis)
                break;                         /* it died: the port was taken */
            if (redis_answers(T.port))
                return;
            usleep(20000);
        }
        kill(T.redis, SIGKILL);
        waitpid(T.redis, NULL, 0);
        T.redis = 0;
    }
    cr_assert_fail("redis-server did not answer on port %u", (unsigned)T.port);
}

static void redis_kill(void)
{
    cr_assert_eq(kill(T.redis, SIGKILL), 0);
    cr_assert_eq(waitpid(T.redis, NULL, 0), T.redis);
    T.redis = 0;
}

/* ---- the loop and the connection ---- */

static void on_ready(struct rconn *rc, void *arg)
{
    (void)arg;
    T.ready++;
    T.loaded_at_ready = rc->loaded;
}

static void on_lost(struct rconn *rc, void *arg)
{
    (void)rc; (void)arg;
    if ((size_t)T.lost < NELEMS(T.lost_at))
        T.lost_at[T.lost] = mono_ms();
    T.lost++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    rconn_tick(&T.rc);
}

static void on_reply(void *arg, redisReply *r)
{
    struct got *g = arg;
    g->called++;
    g->was_null = r == NULL;
    if (!r)
        return;
    g->type = r->type;
    g->integer = r->integer;
    g->elements = r->elements;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        snprintf(g->str[0], sizeof(g->str[0]), "%s", r->str);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && i < 3; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING)
            snprintf(g->str[i], sizeof(g->str[i]), "%s", r->element[i]->str);
        else
            snprintf(g->str[i], sizeof(g->str[i]), "int %lld", r->element[i]->integer);
    }
}

static void setup(void)
{
    memset(&T, 0, sizeof(T));
    log_set_level(LL_WARN);
    redis_start();
    T.base = event_base_new();
    T.tick = event_new(T.base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = { 0, TICK_MS * 1000 };
    event_add(T.tick, &tv);
}

static void teardown(void)
{
    if (T.inited)
        rconn_stop(&T.rc);
    if (T.tick)
        event_free(T.tick);
    if (T.base)
        event_base_free(T.base);
    if (T.redis > 0) {
        kill(T.redis, SIGKILL);
        waitpid(T.redis, NULL, 0);
    }
}

static void connect_with(int nscripts, int64_t reply_timeout_ms)
{
    struct cfg_addr addr = { "127.0.0.1", T.port };
    rconn_init(&T.rc, T.base, &addr, scripts, nscripts, reply_timeout_ms, on_ready, on_lost,
               NULL);
    T.inited = 1;
}

/* Runs the loop until *counter reaches want or ms pass; returns *counter. */
static int run_until(const int *counter, int want, int64_t ms)
{
    for (int64_t end = mono_ms() + ms; *counter < want && mono_ms() < end;)
        event_base_loop(T.base, EVLOOP_ONCE);
    return *counter;
}

static void cmd(struct got *g, int argc, const char **argv)
{
    memset(g, 0, sizeof(*g));
    cr_assert_eq(rconn_cmd(&T.rc, on_reply, g, argc, argv, NULL), 0);
}

/* Sends a command and waits for its reply. */
static void cmd_wait(struct got *g, int argc, const char **argv)
{
    cmd(g, argc, argv);
    cr_assert_eq(run_until(&g->called, 1, 2000), 1, "no reply to %s", argv[0]);
    cr_assert_eq(g->was_null, 0);
}

static void assert_pong(void)
{
    struct got g;
    cmd_wait(&g, 1, (const char *[]){ "PING" });
    cr_assert_eq(g.type, REDIS_REPLY_STATUS);
    cr_assert_str_eq(g.str[0], "PONG");
}

static void start_and_wait_ready(int nscripts, int64_t reply_timeout_ms)
{
    connect_with(nscripts, reply_timeout_ms);
    rconn_start(&T.rc);
    cr_assert_eq(run_until(&T.ready, 1, 3000), 1, "never ready");
}

/* The connection went with the command pending: called once, with NULL. */
static void assert_called_with_null(const struct got *g)
{
    cr_assert_eq(g->called, 1);
    cr_assert_eq(g->was_null, 1);
}

/* A pending command that Redis holds without answering. */
static void blpop_forever(struct got *g)
{
    cmd(g, 3, (const char *[]){ "BLPOP", "test:none", "0" });
}

TestSuite(rconn, .init = setup, .fini = teardown, .timeout = 20);

/* ---- tests ---- */

Test(rconn, refuses_commands_until_ready_then_has_loaded_every_script)
{
    connect_with(2, 1000);
    struct got g = { 0 };
    cr_assert_eq(rconn_cmd(&T.rc, on_reply, &g, 1, (const char *[]){ "PING" }, NULL), -1);
    cr_assert_eq(rconn_script(&T.rc, 0, on_reply, &g, 0, 0, NULL, NULL), -1);
    rconn_start(&T.rc);
    cr_assert_eq(T.rc.ready, 0);                  /* not before SCRIPT LOAD answers */
    cr_assert_eq(rconn_script(&T.rc, 0, on_reply, &g, 0, 0, NULL, NULL), -1);
    cr_assert_eq(run_until(&T.ready, 1, 3000), 1);
    cr_assert_eq(T.loaded_at_ready, 2);
    cr_assert_eq(T.rc.ready, 1);
    cr_assert_str_eq(T.rc.sha[0], script_sha[0]);
    cr_assert_str_eq(T.rc.sha[1], script_sha[1]);
    cr_assert_eq(T.lost, 0);
    cr_assert_eq(g.called, 0);                    /* refused calls never call back */
}

Test(rconn, commands_and_scripts_get_their_replies)
{
    start_and_wait_ready(2, 1000);
    struct got g;
    cmd_wait(&g, 3, (const char *[]){ "SET", "test:k", "v1" });
    cr_assert_eq(g.type, REDIS_REPLY_STATUS);
    cr_assert_str_eq(g.str[0], "OK");
    cmd_wait(&g, 2, (const char *[]){ "GET", "test:k" });
    cr_assert_eq(g.type, REDIS_REPLY_STRING);
    cr_assert_str_eq(g.str[0], "v1");

    memset(&g, 0, sizeof(g));
    cr_assert_eq(rconn_script(&T.rc, 0, on_reply, &g, 0, 0, NULL, NULL), 0);
    cr_assert_eq(run_until(&g.called, 1, 2000), 1);
    cr_assert_eq(g.type, REDIS_REPLY_STRING);
    cr_assert_str_eq(g.str[0], "hi");

    /* One key, one argument; lengths given. */
    memset(&g, 0, sizeof(g));
    const char *kv[] = { "key1", "arg1xx" };
    const size_t kvlen[] = { 4, 4 };
    cr_assert_eq(rconn_script(&T.rc, 1, on_reply, &g, 1, 2, kv, kvlen), 0);
    cr_assert_eq(run_until(&g.called, 1, 2000), 1);
    cr_assert_eq(g.type, REDIS_REPLY_ARRAY);
    cr_assert_eq(g.elements, 3);
    cr_assert_str_eq(g.str[0], "key1");
    cr_assert_str_eq(g.str[1], "arg1");
    cr_assert_str_eq(g.str[2], "int 1");

    /* More arguments than rconn_script's stack array holds. */
    const char *many[20];
    char names[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "a%d", i);
        many[i] = names[i];
    }
    memset(&g, 0, sizeof(g));
    cr_assert_eq(rconn_script(&T.rc, 1, on_reply, &g, 1, 20, many, NULL), 0);
    cr_assert_eq(run_until(&g.called, 1, 2000), 1);
    cr_assert_eq(g.elements, 3);
    cr_assert_str_eq(g.str[0], "a0");
    cr_assert_str_eq(g.str[1], "a1");
    cr_assert_str_eq(g.str[2], "int 19");

    cr_assert_eq(rconn_script(&T.rc, 2, on_reply, &g, 0, 0, NULL, NULL), -1);
    cr_assert_eq(rconn_script(&T.rc, -1, on_reply, &g, 0, 0, NULL, NULL), -1);
    cr_assert_eq(T.rc.in_flight, 0);
    cr_assert_eq(T.lost, 0);
}

Test(rconn, without_scripts_it_is_ready_at_once_and_commands_queue)
{
    connect_with(0, 1000);
    rconn_start(&T.rc);
    cr_assert_eq(T.ready, 1);
    cr_assert_eq(T.rc.ready, 1);
    assert_pong();
}

Test(rconn, redis_gone_fails_pending_commands_and_retries_with_backoff)
{
    start_and_wait_ready(2, 5000);
    struct got g;
    blpop_forever(&g);
    redis_kill();
    cr_assert_eq(run_until(&T.lost, 1, 2000), 1);
    assert_called_with_null(&g);
    cr_assert_eq(T.rc.ready, 0);
    cr_assert_null(T.rc.ac);
    cr_assert_eq(rconn_cmd(&T.rc, on_reply, &g, 1, (const char *[]){ "PING" }, NULL), -1);
    cr_assert_eq(T.rc.backoff_ms, 200);

    /* Each retry fails and is a loss; the waits double: 100, 200, 400 ms. */
    cr_assert_eq(run_until(&T.lost, 4, 3000), 4);
    static const int64_t wait_ms[] = { 100, 200, 400 };
    for (int i = 0; i < 3; i++) {
        int64_t d = T.lost_at[i + 1] - T.lost_at[i];
        cr_assert(d >= wait_ms[i] - EARLY_MS && d <= wait_ms[i] + LATE_MS, "retry %d after %lld ms", i + 1,
                  (long long)d);
    }
    cr_assert_eq(T.rc.backoff_ms, 1600);

    /* Back (the next retry is 800 ms away); it reconnects and reloads. */
    redis_start();
    cr_assert_eq(run_until(&T.ready, 2, 3000), 2);
    cr_assert_eq(T.lost, 4);
    cr_assert_eq(T.loaded_at_ready, 2);
    cr_assert_eq(T.rc.backoff_ms, 100);
    assert_pong();
}

Test(rconn, watchdog_counts_a_command_unanswered_for_too_long_as_lost)
{
    start_and_wait_ready(2, 300);
    cr_assert_eq(kill(T.redis, SIGSTOP), 0);
    struct got g;
    int64_t sent = mono_ms();
    cmd(&g, 1, (const char *[]){ "PING" });
    cr_assert_eq(run_until(&T.lost, 1, 3000), 1);
    int64_t d = T.lost_at[0] - sent;
    cr_assert(d >= 300 - EARLY_MS && d <= 300 + TICK_MS + LATE_MS, "lost after %lld ms", (long long)d);
    assert_called_with_null(&g);
    cr_assert_eq(T.rc.ready, 0);
    cr_assert_eq(T.rc.in_flight, 0);

    cr_assert_eq(kill(T.redis, SIGCONT), 0);
    cr_assert_eq(run_until(&T.ready, 2, 5000), 2);
    assert_pong();
}

Test(rconn, an_idle_connection_is_not_counted_as_lost)
{
    start_and_wait_ready(2, 100);
    struct got never = { 0 };
    run_until(&never.called, 1, 400);             /* four reply timeouts, nothing sent */
    cr_assert_eq(T.lost, 0);
    cr_assert_eq(T.rc.ready, 1);
    assert_pong();
}

Test(rconn, reset_fails_pending_commands_and_reconnects)
{
    start_and_wait_ready(2, 5000);
    struct got g;
    blpop_forever(&g);
    rconn_reset(&T.rc, "test");
    assert_called_with_null(&g);                  /* at once, from rconn_reset */
    cr_assert_eq(T.lost, 1);
    cr_assert_eq(T.rc.ready, 0);
    cr_assert_eq(run_until(&T.ready, 2, 3000), 2);
    int64_t d = mono_ms() - T.lost_at[0];
    cr_assert(d >= 100 - EARLY_MS && d <= 100 + LATE_MS, "ready again after %lld ms", (long long)d);
    assert_pong();
}

Test(rconn, stop_fails_pending_commands_without_a_loss_or_a_retry)
{
    start_and_wait_ready(2, 5000);
    struct got g;
    blpop_forever(&g);
    rconn_stop(&T.rc);
    T.inited = 0;
    assert_called_with_null(&g);
    cr_assert_eq(T.lost, 0);
    run_until(&T.ready, 2, 300);
    cr_assert_eq(T.ready, 1);
}
