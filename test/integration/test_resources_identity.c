/* Resources against the reference server as a device (the current device,
 * experience, location and zones) and as a consumer app.
 * Usage: test_resources_identity NODE test/server/main.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "refserver.h"
#include "test_resources_common.h"
#include "testlib.h"

static refserver server;

static void test_device(void) {
  exp_sdk *sdk = rt_device(server.origin, "test-uuid", "test-secret");
  exp_resource *r = NULL;
  exp_results *zones = NULL;

  CHECK(sdk != NULL);
  if (sdk == NULL)
    return;
  CHECK_INT(exp_current_device_wait(sdk, &r), 0);
  CHECK_STR(exp_resource_uuid(r), "test-uuid");
  CHECK_INT(exp_resource_kind(r), EXP_DEVICE);
  /* A device may change its own document. */
  CHECK_INT(exp_resource_set_name(r, "Renamed by itself"), 0);
  CHECK_INT(exp_resource_save_wait(r), 0);
  CHECK_STR(exp_resource_name(r), "Renamed by itself");
  exp_resource_set_name(r, "Test Device");
  CHECK_INT(exp_resource_save_wait(r), 0);
  exp_resource_free(r);

  CHECK_INT(exp_current_experience_wait(sdk, &r), 0);
  CHECK_STR(exp_resource_uuid(r), "test-experience");
  CHECK_INT(exp_resource_kind(r), EXP_EXPERIENCE);
  exp_resource_free(r);
  CHECK_INT(exp_current_location_wait(sdk, &r), 0);
  CHECK_STR(exp_resource_uuid(r), "test-location");
  CHECK_INT(exp_resource_kind(r), EXP_LOCATION);
  exp_resource_free(r);
  CHECK_INT(exp_current_zones_wait(sdk, &zones), 0);
  CHECK_INT(exp_results_count(zones), 1);
  CHECK_STR(exp_zone_key(exp_results_at(zones, 0)), "zone-a");
  CHECK_STR(exp_resource_name(exp_results_at(zones, 0)), "Zone A");
  CHECK_INT(exp_results_total(zones), 1);
  exp_results_free(zones);

  /* Data and content work for a device too. */
  CHECK_INT(exp_get_data_wait(sdk, "test-group", "beta", &r), 0);
  CHECK_INT(cJSON_GetObjectItem(exp_data_value(r), "position")->valueint, 2);
  exp_resource_free(r);
  exp_stop(sdk);
}

static void test_device_without_location(void) {
  exp_sdk *sdk = rt_device(server.origin, "test-device-3", "test-secret-3");
  exp_resource *r = (exp_resource *)&r;
  exp_results *zones = NULL;

  CHECK(sdk != NULL);
  if (sdk == NULL)
    return;
  CHECK_INT(exp_current_zones_wait(sdk, &zones), 0);
  CHECK(zones != NULL);
  CHECK_INT(exp_results_count(zones), 0);
  CHECK_INT(exp_results_total(zones), 0);
  exp_results_free(zones);
  CHECK_INT(exp_current_location_wait(sdk, &r), EXP_ENOTFOUND);
  CHECK(r == NULL);
  CHECK(strstr(exp_last_error(sdk)->message, "location") != NULL);
  CHECK_INT(exp_current_experience_wait(sdk, &r), EXP_ENOTFOUND);
  CHECK_INT(exp_current_device_wait(sdk, &r), 0);
  CHECK_STR(exp_resource_uuid(r), "test-device-3");
  exp_resource_free(r);
  exp_stop(sdk);
}

/* The current device that disappears: not found, as for any get. */
static void test_device_deleted(void) {
  exp_sdk *user = rt_user(server.origin);
  exp_sdk *sdk;
  cJSON *doc = rt_json("{\"uuid\":\"short-lived\",\"name\":\"Short\"}");
  exp_resource *d = NULL, *r = (exp_resource *)&r;
  char secret[64];

  CHECK(user != NULL);
  if (user == NULL) {
    cJSON_Delete(doc);
    return;
  }
  CHECK_INT(exp_create_resource_wait(user, EXP_DEVICE, doc, &d), 0);
  cJSON_Delete(doc);
  snprintf(secret, sizeof(secret), "%s",
           cJSON_GetStringValue(
               cJSON_GetObjectItem(exp_resource_document(d), "secret")));
  sdk = rt_device(server.origin, "short-lived", secret);
  CHECK(sdk != NULL);
  CHECK_INT(exp_resource_delete_wait(d), 0);
  exp_resource_free(d);
  if (sdk != NULL) {
    /* The token outlives the device; the server says 404 or 401. */
    int rc = exp_current_device_wait(sdk, &r);
    CHECK(rc == EXP_ENOTFOUND || rc == EXP_EAUTH);
    CHECK(r == NULL);
    exp_stop(sdk);
  }
  exp_stop(user);
}

static void test_consumer_app(void) {
  exp_sdk *sdk = rt_consumer(server.origin, "test-uuid", "test-api-key");
  exp_resource *r = (exp_resource *)&r;
  exp_results *rs = NULL;
  char *url, *body = NULL;
  size_t len = 0;
  int status = 0;

  CHECK(sdk != NULL);
  if (sdk == NULL)
    return;
  /* Not a device: no current device, and no request made for it. */
  CHECK_INT(exp_current_device_wait(sdk, &r), EXP_ENOTFOUND);
  CHECK(r == NULL);
  CHECK_INT(exp_current_location_wait(sdk, &r), EXP_ENOTFOUND);
  CHECK_INT(exp_current_experience_wait(sdk, &r), EXP_ENOTFOUND);
  rs = (exp_results *)&rs;
  CHECK_INT(exp_current_zones_wait(sdk, &rs), EXP_ENOTFOUND);
  CHECK(rs == NULL);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "test-uuid", &r), 0);
  CHECK_STR(exp_resource_name(r), "Test Device");
  exp_resource_free(r);
  CHECK_INT(exp_find_resources_wait(sdk, EXP_DATA, NULL, &rs), 0);
  CHECK_INT(exp_results_total(rs), 4);
  exp_results_free(rs);

  /* Its restricted token opens content too. */
  CHECK_INT(exp_get_resource_wait(sdk, EXP_CONTENT, "test-content-text", &r),
            0);
  url = exp_content_url(r);
  CHECK(url != NULL);
  CHECK_INT(rt_fetch(url, &status, &body, &len, NULL), 0);
  CHECK_INT(status, 200);
  CHECK(body != NULL && strstr(body, "Hello from the EXP") != NULL);
  free(body);
  exp_free(url);
  exp_resource_free(r);
  exp_stop(sdk);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  if (refserver_start(&server, argv[1], argv[2], NULL) != 0)
    return 1;
  RUN(test_device);
  RUN(test_device_without_location);
  RUN(test_device_deleted);
  RUN(test_consumer_app);
  refserver_stop(&server);
  return t_done();
}
