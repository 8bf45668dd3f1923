/* The fast path of msg.fin, as cmd_take_fins is TCP's: a client finishes
 * every message it gets, so in a fan-out there is one msg.fin frame per
 * delivery. Its usual form without a request id,
 * {"m":"msg.fin","p":{"i":"<id>"}}, gets no reply whatever happens
 * (SPEC 5.5), so it is done here without a JSON parse or a call object;
 * any other form goes through the dispatch table (mesh_fin.c). */
#include <string.h>

#include "broker.h"
#include "mesh.h"
#include "numparse.h"

#define FIN_HEAD "{\"m\":\"msg.fin\",\"p\":{\"i\":\""
#define FIN_TAIL "\"}}"

int mesh_fin_quick(struct session *s, const char *text, size_t len)
{
    size_t hl = sizeof(FIN_HEAD) - 1, tl = sizeof(FIN_TAIL) - 1;
    int64_t mid;
    if (len <= hl + tl || memcmp(text, FIN_HEAD, hl) != 0 ||
        memcmp(text + len - tl, FIN_TAIL, tl) != 0 ||
        parse_id(text + hl, len - hl - tl, &mid) < 0)
        return -1;
    fin_message(s, mid);  /* an unknown id: 301, which a call without "i" never sees */
    return 0;
}
