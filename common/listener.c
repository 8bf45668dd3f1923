#include "listener.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define LOG_EVERY_MS 1000

/* Every live listener, to find one from its evconnlistener: the error
 * callback gets the accept callback's argument, which is evhttp's own for
 * an evhttp port. Errors are rare, so a locked list is cheap enough. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener *all;

static struct listener *listener_of(struct evconnlistener *lev)
{
    pthread_mutex_lock(&all_lock);
    struct listener *l = all;
    while (l && l->lev != lev)
        l = l->next;
    pthread_mutex_unlock(&all_lock);
    return l;
}

int ratelog_due(struct ratelog *r, unsigned *quiet)
{
    int64_t now = mono_ms();
    if (r->last_ms && now - r->last_ms < LOG_EVERY_MS) {
        r->quiet++;
        return 0;
    }
    *quiet = r->quiet;
    r->quiet = 0;
    r->last_ms = now;
    return 1;
}

/* Tells evconnlistener the one state the three reasons add up to. */
static void listener_apply(struct listener *l)
{
    int on = l->wanted && !l->full && !l->retrying;
    if (!l->lev || on == l->enabled)
        return;
    l->enabled = on;
    if (on)
        evconnlistener_enable(l->lev);
    else
        evconnlistener_disable(l->lev);
}

static void listener_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    (void)fd; (void)what;
    l->retrying = 0;
    listener_apply(l);
}

/* accept() failed with something other than EAGAIN/EINTR/ECONNABORTED
 * (libevent retries those itself): at the fd limit, accepting again at
 * once fails again at once, so pause; the connections wait in the kernel's
 * backlog meanwhile. */
static void listener_on_error(struct evconnlistener *lev, void *arg)
{
    struct listener *l = listener_of(lev);
    int err = EVUTIL_SOCKET_ERROR();
    (void)arg;
    if (!l)
        return;
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    unsigned quiet;
    if (ratelog_due(&l->log, &quiet))
        log_warn("%s: accept failed: %s; accepting paused %d ms (%u more failures not logged)",
                 l->name, evutil_socket_error_to_string(err), l->backoff_ms, quiet);
    l->retrying = 1;
    listener_apply(l);
    struct timeval tv = { l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000 };
    evtimer_add(l->retry_ev, &tv);
}

int listener_init(struct listener *l, struct event_base *base, evutil_socket_t fd,
                  const char *name, evconnlistener_cb cb, void *arg)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->retry_ev = evtimer_new(base, listener_on_retry, l);
    /* Backlog 0: the socket already listens (net_listen's backlog); -1
     * would make libevent listen again with 128. */
    l->lev = l->retry_ev ? evconnlistener_new(base, cb, arg,
                                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
                                                  LEV_OPT_DISABLED, 0, fd)
                         : NULL;
    if (!l->lev) {
        evutil_closesocket(fd);
        log_error("cannot listen on %s", name);
        listener_free(l, 1);
        return -1;
    }
    evconnlistener_set_error_cb(l->lev, listener_on_error);
    pthread_mutex_lock(&all_lock);
    l->next = all;
    all = l;
    pthread_mutex_unlock(&all_lock);
    return 0;
}

void listener_want(struct listener *l, int on)
{
    l->wanted = on;
    listener_apply(l);
}

void listener_full(struct listener *l, int full)
{
    if (full == l->full)
        return;
    l->full = full;
    unsigned quiet;
    if (full && ratelog_due(&l->log, &quiet))
        log_warn("%s: at its most connections: accepting paused until one closes", l->name);
    listener_apply(l);
}

void listener_accepted(struct listener *l)
{
    l->backoff_ms = 0;
}

void listener_free(struct listener *l, int own_lev)
{
    pthread_mutex_lock(&all_lock);
    struct listener **p = &all;
    while (*p && *p != l)
        p = &(*p)->next;
    if (*p)
        *p = l->next;
    pthread_mutex_unlock(&all_lock);
    if (l->lev && own_lev)
        evconnlistener_free(l->lev);
    l->lev = NULL;
    if (l->retry_ev)
        event_free(l->retry_ev);
    l->retry_ev = NULL;
}
