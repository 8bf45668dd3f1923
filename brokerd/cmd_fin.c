/* FIN (SPEC 2.5): the device is done with a message. */
#include "broker.h"

int fin_message(struct session *c, int64_t mid)
{
    if (pending_fin(c, mid) < 0)
        return -1;
    c->b->stats.fins++;
    return 0;
}

void cmd_fin(struct session *c, int64_t mid)
{
    if (fin_message(c, mid) < 0)
        session_fail(c, ERR_FIN_FAILED, NULL);
}
