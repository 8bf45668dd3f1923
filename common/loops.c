#include "loops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

int loops_count(uint64_t configured)
{
    long n = configured ? (long)configured : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > LOOPS_MAX ? LOOPS_MAX : (int)n;
}

static void *loop_thread(void *arg)
{
    event_base_dispatch(arg);
    return NULL;
}

int loops_run(int n, struct event_base *(*base_of)(void *arg, int i), void (*stop)(void *arg),
              void *arg)
{
    pthread_t *th = xcalloc((size_t)n, sizeof(*th));
    int started = 1;
    for (int i = 1; i < n && pthread_create(&th[i], NULL, loop_thread, base_of(arg, i)) == 0;
         i++)
        started++;
    if (started < n) {
        log_error("could start only %d of %d event loops: stopping", started, n);
        stop(arg);
    }
    event_base_dispatch(base_of(arg, 0));
    for (int i = 1; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return started == n ? 0 : -1;
}

static void loop_wake_read(evutil_socket_t fd, short what, void *arg)
{
    struct loop_wake *w = arg;
    char c[64];
    (void)what;
    /* Every wake-up asked for so far is answered by one call. */
    if (read(fd, c, sizeof(c)) > 0)
        w->fn(w->arg);
}

int loop_wake_init(struct loop_wake *w, struct event_base *base, void (*fn)(void *arg),
                   void *arg)
{
    w->fd[0] = w->fd[1] = -1;
    w->fn = fn;
    w->arg = arg;
    /* Non-blocking: a full pipe already holds a wake-up, and a writer
     * must never wait for the loop it wakes. */
    if (pipe2(w->fd, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    w->ev = event_new(base, w->fd[0], EV_READ | EV_PERSIST, loop_wake_read, w);
    return w->ev && event_add(w->ev, NULL) == 0 ? 0 : -1;
}

void loop_wake(struct loop_wake *w)
{
    if (write(w->fd[1], "x", 1) < 0 && errno != EAGAIN)
        log_warn("cannot wake an event loop");
}

void loop_wake_free(struct loop_wake *w)
{
    if (!w->fn)
        return;  /* never initialised (zeroed) or already freed */
    w->fn = NULL;
    if (w->ev)
        event_free(w->ev);
    w->ev = NULL;
    for (int i = 0; i < 2; i++)
        if (w->fd[i] >= 0)
            close(w->fd[i]);
    w->fd[0] = w->fd[1] = -1;
}
