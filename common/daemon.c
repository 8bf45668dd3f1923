#include "daemon.h"

#include <signal.h>
#include <stdio.h>

#include <event2/event.h>

int daemon_configure(const struct cfg_program *prog, void *conf, const enum log_level *level,
                     int argc, char **argv)
{
    char err[512];
    log_set_program(prog->name);
    switch (cfg_load(prog, conf, argc, argv, err, sizeof(err))) {
    case CFG_OK:
        break;
    case CFG_EXIT:
        return 0;
    default:
        fprintf(stderr, "%s: %s\n", prog->name, err);
        return 2;
    }
    log_set_level(*level);
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

static void daemon_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon_signals *s = arg;
    (void)what;
    log_info("signal %d received", (int)sig);
    s->stop(s->arg);
}

void daemon_signals_start(struct daemon_signals *s, struct event_base *base,
                          void (*stop)(void *arg), void *arg)
{
    s->stop = stop;
    s->arg = arg;
    s->term = evsignal_new(base, SIGTERM, daemon_on_signal, s);
    s->intr = evsignal_new(base, SIGINT, daemon_on_signal, s);
    event_add(s->term, NULL);
    event_add(s->intr, NULL);
}

void daemon_signals_free(struct daemon_signals *s)
{
    if (s->term)
        event_free(s->term);
    if (s->intr)
        event_free(s->intr);
    s->term = s->intr = NULL;
}

struct event_base *daemon_event_base(void)
{
    struct event_config *ec = event_config_new();
    if (!ec)
        return NULL;
    /* Safe here: no daemon dup()s a socket that a loop watches. */
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}
