/* What every daemon's main() does the same way: options and logging at
 * start, SIGTERM/SIGINT for a clean stop, SIGPIPE ignored. */
#ifndef PG_DAEMON_H
#define PG_DAEMON_H

#include "cfg.h"
#include "log.h"

struct event_base;
struct event;

/* Loads the options into conf, names the program in logs and sets the log
 * level from *level once loaded. Returns -1 to go on, or an exit code:
 * 0 after --help/--version, 2 after a usage error (printed). */
int daemon_configure(const struct cfg_program *prog, void *conf, const enum log_level *level,
                     int argc, char **argv);

/* A new event loop. It batches epoll changes until the next wait, so a
 * connection's read or write interest switched off and on again in one turn
 * (evhttp does it for every request) costs no system call. NULL on failure. */
struct event_base *daemon_event_base(void);

struct daemon_signals {
    struct event *term, *intr;
    void (*stop)(void *arg);
    void *arg;
};

/* stop(arg) runs on SIGTERM or SIGINT (each time; make it idempotent). */
void daemon_signals_start(struct daemon_signals *s, struct event_base *base,
                          void (*stop)(void *arg), void *arg);
void daemon_signals_free(struct daemon_signals *s);

#endif
