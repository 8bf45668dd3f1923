/* POST /registration (SPEC 3): a device gets its id, a live broker, and a
 * token when a secret is set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "keys.h"
#include "numparse.h"
#include "router.h"
#include "scripts.h"
#include "digest.h"
#include "token.h"

/* Redis keeps the key's SHA-256 (lowercase hex), never the key. */
static void device_key_hash(const char *key, char out[DIGEST_HEX_LEN + 1])
{
    unsigned char d[DIGEST_LEN];
    digest_sha256(key, strlen(key), d);
    digest_hex(d, out);
}

/* Up to NAME_MAX_BYTES of valid UTF-8. */
static void registration_done(void *arg, redisReply *rep)
{
    struct router *r;
    struct evhttp_request *req = request_take(arg, &r);
    /* {status, device id, broker address, token generation[, WebSocket address]} */
    const char *status = script_status(rep);
    if (!status || rep->elements < 4 || rep->element[3]->type != REDIS_REPLY_STRING ||
        (rep->elements > 4 && rep->element[4]->type != REDIS_REPLY_STRING)) {
        request_bad_reply(r, req, "registration", rep);
        return;
    }
    int64_t id = strtoll(rep->element[1]->str, NULL, 10);
    const char *addr = rep->element[2]->str;
    if (strcmp(status, "badkey") == 0) {
        log_info("registration of device %lld without its device_key", (long long)id);
        reply_param_status(r, req, 403);
        return;
    }
    if (strcmp(status, "nobroker") == 0) {
        log_warn("registration of device %lld: no live broker", (long long)id);
        reply_unavailable(r, req);
        return;
    }
    json_t *data = json_pack("{s:I}", "device_id", (json_int_t)id);
    if (strcmp(status, "ios") != 0)
        json_object_set_new(data, "broker", json_string(addr));
    /* SPEC 5.4: "ws" next to "broker" when that broker serves WebSocket. */
    if (strcmp(status, "ios") != 0 && rep->elements > 4 && rep->element[4]->len > 0)
        json_object_set_new(data, "ws", json_string(rep->element[4]->str));
    if (r->conf.secret && *r->conf.secret) {
        char tok[TOKEN_MAX + 1];
        token_make(r->conf.secret, id, strtoll(rep->element[3]->str, NULL, 10), tok);
        json_object_set_new(data, "token", json_string(tok));
    }
    r->stats.registrations++;
    reply_send(r, req, RC_OK, 0, data);
}

void registration_handle(struct evhttp_request *req, void *arg)
{
    struct router *r = arg;
    struct evkeyvalq kv;
    if (router_request_ok(r, req, 0) < 0)
        return;
    if (params_read(req, 1, &kv) < 0) {
        params_free(&kv);
        reply_send(r, req, RC_PARAM, 0, NULL);
        return;
    }
    struct reg_args a;
    enum router_code code = reg_check(&kv, &a);
    if (code != RC_OK) {
        params_free(&kv);
        reply_send(r, req, code, 0, NULL);
        return;
    }
    char type_s[ARG_INT_MAX], skey[KEY_SERIAL_MAX], khash[DIGEST_HEX_LEN + 1] = "";
    if (a.key)
        device_key_hash(a.key, khash);
    const char *argv[] = { key_serial(skey, (int64_t)a.type, a.serial), KEY_NEXT_DEVICE_ID,
                           KEY_DEVICES, KEY_BROKERS, a.serial, arg_int(type_s, (int64_t)a.type),
                           a.name ? a.name : "", a.name ? "1" : "0", khash };
    struct router_request *rr = request_new(r, req);
    if (rconn_script(&r->redis, RS_REGISTER, registration_done, rr, 4, 9, argv, NULL) < 0)
        request_unsent(rr);
    params_free(&kv);
}
