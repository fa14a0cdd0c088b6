/* Every public call given NULL handles fails cleanly instead of crashing. */
#include "exp.h"
#include "testlib.h"

static void cb_json(exp_sdk *s, int st, cJSON *r, void *ud) {
  (void)s, (void)st, (void)ud;
  cJSON_Delete(r);
}
static void cb_done(exp_sdk *s, int st, void *ud) {
  (void)s, (void)st, (void)ud;
}
static void cb_res(exp_sdk *s, int st, exp_resource *r, void *ud) {
  (void)s, (void)st, (void)ud;
  exp_resource_free(r);
}
static void cb_results(exp_sdk *s, int st, exp_results *r, void *ud) {
  (void)s, (void)st, (void)ud;
  exp_results_free(r);
}
static void cb_event(exp_sdk *s, exp_event e, const cJSON *d, void *ud) {
  (void)s, (void)e, (void)d, (void)ud;
}
static void cb_msg(exp_sdk *s, exp_listener *l, exp_message *m, void *ud) {
  (void)s, (void)l, (void)ud;
  exp_message_free(m);
}
static void cb_listener(exp_sdk *s, int st, exp_listener *l, void *ud) {
  (void)s, (void)st, (void)ud;
  exp_listener_cancel(l);
}
static void cb_next(exp_sdk *s, int st, exp_message *m, void *ud) {
  (void)s, (void)st, (void)ud;
  exp_message_free(m);
}

static void test_sdk_null(void) {
  exp_call call = {"GET", "/api/devices", NULL, NULL, 0};
  cJSON *out = (cJSON *)&call;
  CHECK(exp_last_error(NULL) != NULL);
  CHECK_INT(exp_last_error(NULL)->code, EXP_EOPTIONS);
  exp_clear_error(NULL);
  CHECK(exp_loop(NULL) == NULL);
  CHECK(exp_auth(NULL) == NULL);
  exp_set_log(NULL, EXP_LOG_DEBUG, NULL, NULL);
  CHECK_INT(exp_set_str(NULL, EXP_OPT_HOST, "http://h"), EXP_EOPTIONS);
  CHECK_INT(exp_set_int(NULL, EXP_OPT_ALLOW_PAIRING, 1), EXP_EOPTIONS);
  CHECK_INT(exp_start(NULL, cb_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_start_wait(NULL, 10), EXP_EOPTIONS);
  CHECK_INT(exp_sleep(NULL, 1), EXP_EOPTIONS);
  CHECK(exp_on(NULL, EXP_EVENT_ONLINE, cb_event, NULL) == NULL);
  exp_off(NULL);
  CHECK_INT(exp_is_connected(NULL), 0);
  CHECK_INT(exp_request(NULL, &call, cb_json, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_request_wait(NULL, &call, &out), EXP_EOPTIONS);
  CHECK(out == NULL);
  CHECK_INT(exp_get(NULL, "/x", NULL, cb_json, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_delete_wait(NULL, "/x", NULL, NULL), EXP_EOPTIONS);
  exp_stop(NULL);
}

static void test_objects_null(void) {
  exp_resource *r = NULL;
  exp_results *rs = NULL;
  exp_listener *l = NULL;
  exp_message *m = NULL;
  cJSON *j = NULL;
  CHECK(exp_get_resource(NULL, EXP_DEVICE, "u", cb_res, NULL) < 0);
  CHECK(exp_get_resource_wait(NULL, EXP_DEVICE, "u", &r) < 0);
  CHECK(exp_find_resources(NULL, EXP_DEVICE, NULL, cb_results, NULL) < 0);
  CHECK(exp_create_resource_wait(NULL, EXP_DEVICE, NULL, &r) < 0);
  CHECK(exp_resource_save(NULL, cb_done, NULL) < 0);
  CHECK(exp_resource_refresh_wait(NULL) < 0);
  CHECK(exp_resource_delete_wait(NULL) < 0);
  CHECK(exp_resource_document(NULL) == NULL);
  CHECK(exp_resource_uuid(NULL) == NULL);
  CHECK(exp_resource_name(NULL) == NULL);
  CHECK(exp_resource_set_name(NULL, "n") < 0);
  CHECK(exp_resource_sdk(NULL) == NULL);
  exp_resource_free(NULL);
  CHECK_INT(exp_results_count(NULL), 0);
  CHECK(exp_results_at(NULL, 0) == NULL);
  CHECK(exp_results_take(NULL, 0) == NULL);
  exp_results_free(NULL);
  CHECK(exp_current_device_wait(NULL, &r) < 0);
  CHECK(exp_current_zones(NULL, cb_results, NULL) < 0);
  CHECK(exp_resource_zones_wait(NULL, &rs) < 0);
  CHECK(exp_location_zones(NULL, &rs) < 0);
  CHECK(exp_content_url(NULL) == NULL);
  CHECK(exp_content_variant_url(NULL, "v") == NULL);
  CHECK_INT(exp_content_has_variant(NULL, "v"), 0);
  CHECK(exp_location_layout_url(NULL) == NULL);
  CHECK(exp_zone_key(NULL) == NULL);
  CHECK(exp_feed_data_wait(NULL, NULL, &j) < 0);
  CHECK(exp_get_data_wait(NULL, NULL, "k", &r) < 0);
  CHECK(exp_create_data(NULL, NULL, "k", NULL, cb_res, NULL) < 0);
  CHECK(exp_data_value(NULL) == NULL);
  CHECK(exp_data_set_value(NULL, NULL) < 0);
  CHECK(exp_get_channel(NULL, "c", 0) == NULL);
  CHECK(exp_resource_channel(NULL, 0) == NULL);
  CHECK(exp_channel_id(NULL) == NULL);
  CHECK(exp_channel_name(NULL) == NULL);
  exp_channel_free(NULL);
  CHECK(exp_broadcast(NULL, "e", NULL, 0, cb_json, NULL) < 0);
  CHECK(exp_broadcast_wait(NULL, "e", NULL, 0, &j) < 0);
  CHECK(exp_fling_wait(NULL, NULL, 0, &j) < 0);
  CHECK(exp_identify(NULL, 0, cb_json, NULL) < 0);
  CHECK(exp_listen(NULL, "e", NULL, cb_msg, NULL, cb_listener, NULL) < 0);
  CHECK(exp_listen_wait(NULL, "e", NULL, NULL, NULL, &l) < 0);
  CHECK(exp_listener_next(NULL, 0, cb_next, NULL) < 0);
  CHECK(exp_listener_wait(NULL, 0, &m) < 0);
  CHECK_INT(exp_listener_dropped(NULL), 0);
  CHECK_INT(exp_listener_queued(NULL), 0);
  exp_listener_cancel(NULL);
  CHECK(exp_message_name(NULL) == NULL);
  CHECK(exp_message_payload(NULL) == NULL);
  CHECK(exp_message_respond(NULL, NULL, cb_json, NULL) < 0);
  CHECK(exp_message_respond_wait(NULL, NULL, &j) < 0);
  exp_message_free(NULL);
}

int main(void) {
  RUN(test_sdk_null);
  RUN(test_objects_null);
  return t_done();
}
