/* Resources against the reference server, logged in as a user: every call
 * of the resources section of exp.h, blocking and async, the delivery URLs
 * fetched for real, not-found, server errors, and bad input.
 * Usage: test_resources NODE test/server/main.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "refserver.h"
#include "resource.h"
#include "test_resources_common.h"
#include "testlib.h"

static refserver server;
static exp_sdk *sdk;

/* The uuids of a result set, comma-separated, for comparisons. */
static const char *uuids(const exp_results *rs) {
  static char buf[512];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < exp_results_count(rs); i++) {
    exp_resource *r = exp_results_at(rs, i);
    const char *u = exp_resource_kind(r) == EXP_ZONE   ? exp_zone_key(r)
                    : exp_resource_kind(r) == EXP_DATA ? exp_data_key(r)
                                                       : exp_resource_uuid(r);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
                          u ? u : "?");
    if (n >= sizeof(buf))
      break;
  }
  return buf;
}

static void check_error(int code, int http_status, const char *api_code,
                        const char *words) {
  const exp_error_info *e = exp_last_error(sdk);
  CHECK_INT(e->code, code);
  CHECK_INT(e->http_status, http_status);
  CHECK_STR(e->api_code, api_code);
  if (words != NULL && strstr(e->message, words) == NULL) {
    CHECK(strstr(e->message, words) != NULL);
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", e->message, words);
  }
}

/* ---------------------------------------------------------------- get */

static void test_get(void) {
  exp_resource *d = NULL;
  cJSON *doc;

  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "test-uuid", &d), 0);
  CHECK_INT(exp_resource_kind(d), EXP_DEVICE);
  CHECK(exp_resource_sdk(d) == sdk);
  CHECK_STR(exp_resource_uuid(d), "test-uuid");
  CHECK_STR(exp_resource_name(d), "Test Device");
  CHECK_STR(exp_resource_subtype(d), "scala:device:player");
  doc = exp_resource_document(d);
  CHECK(cJSON_IsObject(doc));
  CHECK_INT(cJSON_GetObjectItem(doc, "index")->valueint, 1);
  exp_resource_free(d);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_THING, "test-thing", &d), 0);
  CHECK_STR(exp_resource_name(d), "Test Thing");
  exp_resource_free(d);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_EXPERIENCE, "test-experience", &d),
            0);
  CHECK_STR(exp_resource_name(d), "Test Experience");
  exp_resource_free(d);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &d), 0);
  CHECK_STR(exp_resource_name(d), "Test Location");
  exp_resource_free(d);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_FEED, "test-feed-static", &d), 0);
  CHECK_STR(exp_resource_name(d), "Static Feed");
  exp_resource_free(d);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_CONTENT, "test-content-file", &d),
            0);
  CHECK_STR(exp_resource_subtype(d), "scala:content:file");
  exp_resource_free(d);
}

static void test_not_found(void) {
  exp_resource *d = (exp_resource *)&d;
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "no-such-device", &d),
            EXP_ENOTFOUND);
  CHECK(d == NULL);
  check_error(EXP_ENOTFOUND, 404, "not.found", "no-such-device");
  /* A uuid that needs encoding reaches the server as one segment. */
  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "a/b c?d", &d),
            EXP_ENOTFOUND);
  check_error(EXP_ENOTFOUND, 404, "not.found", "a/b c?d");
  CHECK_INT(exp_get_data_wait(sdk, NULL, "no-such-key", &d), EXP_ENOTFOUND);
  check_error(EXP_ENOTFOUND, 404, "not.found", NULL);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_CONTENT, "nothing", &d),
            EXP_ENOTFOUND);
}

/* -------------------------------------------------------------- find */

static void test_find(void) {
  cJSON *q =
      rt_json("{\"subtype\":\"scala:device:player\",\"sort\":\"-index\"}");
  exp_results *rs = NULL;
  exp_resource *taken;

  CHECK_INT(exp_find_resources_wait(sdk, EXP_DEVICE, q, &rs), 0);
  CHECK_INT(exp_results_count(rs), 2);
  CHECK_INT(exp_results_total(rs), 2);
  CHECK_STR(uuids(rs), "test-device-2,test-uuid");
  CHECK(cJSON_IsObject(exp_results_extra(rs)));
  CHECK(cJSON_GetObjectItem(exp_results_extra(rs), "results") == NULL);
  taken = exp_results_take(rs, 0);
  exp_results_free(rs);
  CHECK_STR(exp_resource_name(taken), "Test Device 2");
  exp_resource_free(taken);
  cJSON_Delete(q);

  /* limit: total still counts every match. */
  q = rt_json("{\"limit\":1,\"sort\":\"index\"}");
  CHECK_INT(exp_find_resources_wait(sdk, EXP_DEVICE, q, &rs), 0);
  CHECK_INT(exp_results_count(rs), 1);
  CHECK_INT(exp_results_total(rs), 3);
  CHECK_STR(uuids(rs), "test-uuid");
  exp_results_free(rs);
  cJSON_Delete(q);

  /* No query: everything of the kind. */
  CHECK_INT(exp_find_resources_wait(sdk, EXP_THING, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-thing,test-thing-2");
  exp_results_free(rs);
  CHECK_INT(exp_find_resources_wait(sdk, EXP_FEED, NULL, &rs), 0);
  CHECK_INT(exp_results_total(rs), 2);
  exp_results_free(rs);
  q = rt_json("{\"name\":\"My App\"}");
  CHECK_INT(exp_find_resources_wait(sdk, EXP_CONTENT, q, &rs), 0);
  CHECK_STR(uuids(rs), "test-content-app");
  exp_results_free(rs);
  cJSON_Delete(q);
  q = rt_json("{\"name\":\"nothing like it\"}");
  CHECK_INT(exp_find_resources_wait(sdk, EXP_EXPERIENCE, q, &rs), 0);
  CHECK_INT(exp_results_count(rs), 0);
  CHECK_INT(exp_results_total(rs), 0);
  exp_results_free(rs);
  cJSON_Delete(q);

  /* A query the server refuses. */
  q = rt_json("{\"limit\":-1}");
  rs = (exp_results *)&rs;
  CHECK_INT(exp_find_resources_wait(sdk, EXP_DEVICE, q, &rs), EXP_EAPI);
  CHECK(rs == NULL);
  check_error(EXP_EAPI, 400, "request.query", "limit");
  cJSON_Delete(q);
}

/* ------------------------------------------------- create, save, delete */

static void crud(exp_kind kind) {
  cJSON *doc = rt_json("{\"name\":\"Created\",\"tags\":[\"a\"]}");
  exp_resource *res = NULL, *other = NULL;
  cJSON *own;
  char uuid[64];

  CHECK_INT(exp_create_resource_wait(sdk, kind, doc, &res), 0);
  cJSON_Delete(doc);
  if (res == NULL)
    return;
  CHECK_INT(exp_resource_kind(res), kind);
  CHECK(exp_resource_uuid(res) != NULL);
  snprintf(uuid, sizeof(uuid), "%s", exp_resource_uuid(res));
  CHECK_STR(exp_resource_name(res), "Created");
  if (kind == EXP_DEVICE)
    CHECK(cJSON_IsString(
        cJSON_GetObjectItem(exp_resource_document(res), "secret")));

  /* Change the document; save sends all of it and takes the answer. */
  own = exp_resource_document(res);
  CHECK_INT(exp_resource_set_name(res, "Saved"), 0);
  cJSON_AddNumberToObject(own, "extra", 42);
  CHECK_INT(exp_resource_save_wait(res), 0);
  CHECK(exp_resource_document(res) == own);
  CHECK_STR(exp_resource_name(res), "Saved");
  CHECK_INT(cJSON_GetObjectItem(own, "extra")->valueint, 42);
  /* The server never shows a device's secret again. */
  CHECK(cJSON_GetObjectItem(own, "secret") == NULL);

  /* Another copy saves; refresh brings it. */
  CHECK_INT(exp_get_resource_wait(sdk, kind, uuid, &other), 0);
  CHECK_INT(cJSON_GetArraySize(
                cJSON_GetObjectItem(exp_resource_document(other), "tags")),
            1);
  exp_resource_set_name(other, "Saved elsewhere");
  CHECK_INT(exp_resource_save_wait(other), 0);
  CHECK_INT(exp_resource_refresh_wait(res), 0);
  CHECK_STR(exp_resource_name(res), "Saved elsewhere");
  CHECK(exp_resource_document(res) == own);

  /* Delete: gone for get, refresh, save and a second delete. */
  CHECK_INT(exp_resource_delete_wait(res), 0);
  CHECK_STR(exp_resource_uuid(res), uuid);
  exp_resource_free(other);
  other = (exp_resource *)&other;
  CHECK_INT(exp_get_resource_wait(sdk, kind, uuid, &other), EXP_ENOTFOUND);
  CHECK(other == NULL);
  CHECK_INT(exp_resource_refresh_wait(res), EXP_ENOTFOUND);
  CHECK_STR(exp_resource_name(res), "Saved elsewhere");
  CHECK_INT(exp_resource_save_wait(res), EXP_ENOTFOUND);
  CHECK_INT(exp_resource_delete_wait(res), EXP_ENOTFOUND);
  check_error(EXP_ENOTFOUND, 404, "not.found", NULL);
  exp_resource_free(res);
}

static void test_crud(void) {
  crud(EXP_DEVICE);
  crud(EXP_THING);
  crud(EXP_EXPERIENCE);
  crud(EXP_LOCATION);
  crud(EXP_FEED);
}

static void test_server_errors(void) {
  cJSON *dup = rt_json("{\"uuid\":\"test-uuid\",\"name\":\"again\"}");
  cJSON *bad_zones = rt_json("{\"name\":\"x\",\"zones\":[{\"name\":\"k\"}]}");
  exp_resource *res = (exp_resource *)&res;
  cJSON *doc;

  CHECK_INT(exp_create_resource_wait(sdk, EXP_DEVICE, dup, &res), EXP_EAPI);
  CHECK(res == NULL);
  check_error(EXP_EAPI, 409, "conflict", "already exists");
  CHECK_INT(exp_create_resource_wait(sdk, EXP_LOCATION, bad_zones, &res),
            EXP_EAPI);
  check_error(EXP_EAPI, 400, "request.invalid", "string key");
  cJSON_Delete(dup);
  cJSON_Delete(bad_zones);

  /* A refused save leaves the document as the application made it. */
  CHECK_INT(exp_get_resource_wait(sdk, EXP_THING, "test-thing", &res), 0);
  doc = exp_resource_document(res);
  cJSON_ReplaceItemInObject(doc, "name", cJSON_CreateNumber(5));
  CHECK_INT(exp_resource_save_wait(res), EXP_EAPI);
  check_error(EXP_EAPI, 400, "request.invalid", "name");
  CHECK_INT(cJSON_GetObjectItem(doc, "name")->valueint, 5);
  CHECK_INT(exp_resource_refresh_wait(res), 0);
  CHECK_STR(exp_resource_name(res), "Test Thing");
  exp_resource_free(res);
}

/* ------------------------------------------------------------ relations */

static void test_device_links(void) {
  exp_resource *d, *t, *loc = NULL, *exp = NULL, *d3;
  exp_results *zones = NULL;

  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "test-uuid", &d), 0);
  CHECK_INT(exp_resource_location_wait(d, &loc), 0);
  CHECK_STR(exp_resource_uuid(loc), "test-location");
  CHECK_INT(exp_resource_kind(loc), EXP_LOCATION);
  exp_resource_free(loc);
  CHECK_INT(exp_device_experience_wait(d, &exp), 0);
  CHECK_STR(exp_resource_uuid(exp), "test-experience");
  CHECK_INT(exp_resource_kind(exp), EXP_EXPERIENCE);
  exp_resource_free(exp);
  CHECK_INT(exp_resource_zones_wait(d, &zones), 0);
  CHECK_STR(uuids(zones), "zone-a");
  CHECK_STR(exp_resource_name(exp_results_at(zones, 0)), "Zone A");
  CHECK_STR(exp_resource_uuid(exp_zone_location(exp_results_at(zones, 0))),
            "test-location");
  exp_results_free(zones);
  exp_resource_free(d);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_THING, "test-thing-2", &t), 0);
  CHECK_INT(exp_resource_location_wait(t, &loc), 0);
  CHECK_STR(exp_resource_uuid(loc), "test-location");
  exp_resource_free(loc);
  CHECK_INT(exp_resource_zones_wait(t, &zones), 0);
  CHECK_STR(uuids(zones), "zone-b");
  exp_results_free(zones);
  CHECK_INT(exp_device_experience_wait(t, &exp), EXP_EOPTIONS);
  exp_resource_free(t);

  /* A device in no location and no experience: in no zone. */
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "test-device-3", &d3), 0);
  CHECK_INT(exp_resource_location_wait(d3, &loc), EXP_ENOTFOUND);
  CHECK(loc == NULL);
  check_error(EXP_ENOTFOUND, 0, NULL, "location");
  CHECK_INT(exp_device_experience_wait(d3, &exp), EXP_ENOTFOUND);
  check_error(EXP_ENOTFOUND, 0, NULL, "experience");
  CHECK_INT(exp_resource_zones_wait(d3, &zones), 0);
  CHECK(zones != NULL);
  CHECK_INT(exp_results_count(zones), 0);
  CHECK_INT(exp_results_total(zones), 0);
  exp_results_free(zones);
  exp_resource_free(d3);
}

static void test_members(void) {
  exp_resource *exp, *loc;
  exp_results *rs;
  cJSON *limit = rt_json("{\"limit\":1,\"sort\":\"index\"}");
  cJSON *override = rt_json("{\"experience.uuid\":\"elsewhere\"}");

  CHECK_INT(exp_get_resource_wait(sdk, EXP_EXPERIENCE, "test-experience", &exp),
            0);
  CHECK_INT(exp_resource_devices_wait(exp, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-uuid,test-device-2");
  exp_results_free(rs);
  CHECK_INT(exp_resource_devices_wait(exp, limit, &rs), 0);
  CHECK_STR(uuids(rs), "test-uuid");
  CHECK_INT(exp_results_total(rs), 2);
  exp_results_free(rs);
  /* The experience's own filter wins over the caller's. */
  CHECK_INT(exp_resource_devices_wait(exp, override, &rs), 0);
  CHECK_INT(exp_results_total(rs), 2);
  exp_results_free(rs);
  CHECK_INT(exp_resource_things_wait(exp, NULL, &rs), EXP_EOPTIONS);
  exp_resource_free(exp);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &loc), 0);
  CHECK_INT(exp_resource_devices_wait(loc, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-uuid,test-device-2");
  exp_results_free(rs);
  CHECK_INT(exp_resource_things_wait(loc, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-thing,test-thing-2");
  CHECK_INT(exp_resource_kind(exp_results_at(rs, 0)), EXP_THING);
  exp_results_free(rs);
  exp_resource_free(loc);
  cJSON_Delete(limit);
  cJSON_Delete(override);
}

/* ---------------------------------------------------------------- zones */

/* Fields by dotted path: read, replace without duplicating the key, add
 * nested, save and read back; a zone's fields are its location's. */
static void test_fields(void) {
  exp_resource *thing, *again, *loc;
  exp_results *zones;
  cJSON *doc = cJSON_Parse("{\"name\":\"fields\"}");
  char *text;

  CHECK_INT(exp_create_resource_wait(sdk, EXP_THING, doc, &thing), 0);
  cJSON_Delete(doc);
  CHECK_STR(cJSON_GetStringValue(exp_resource_get(thing, "name")), "fields");
  CHECK(exp_resource_get(thing, "no.such") == NULL);
  CHECK_INT(exp_resource_set(thing, "name", cJSON_CreateString("renamed")), 0);
  CHECK_INT(exp_resource_set(thing, "name", cJSON_CreateString("twice")), 0);
  CHECK_INT(exp_resource_set(thing, "meta.size.w", cJSON_CreateNumber(4)), 0);
  text = exp_json_string(exp_resource_document(thing));
  CHECK(strstr(strstr(text, "\"name\"") + 1, "\"name\"") == NULL);
  exp_free(text);
  CHECK_INT(exp_resource_set(thing, "name.x", cJSON_CreateTrue()),
            EXP_EOPTIONS);
  check_error(EXP_EOPTIONS, 0, NULL, "name.x");
  CHECK_INT(exp_resource_set(thing, "x", NULL), EXP_ENOMEM);
  CHECK_INT(exp_resource_set(NULL, "x", cJSON_CreateTrue()), EXP_EOPTIONS);
  CHECK_INT(exp_resource_save_wait(thing), 0);
  CHECK_INT(
      exp_get_resource_wait(sdk, EXP_THING, exp_resource_uuid(thing), &again),
      0);
  CHECK_STR(cJSON_GetStringValue(exp_resource_get(again, "name")), "twice");
  CHECK_INT((int)cJSON_GetNumberValue(exp_resource_get(again, "meta.size.w")),
            4);
  CHECK_INT(exp_resource_delete_wait(again), 0);
  exp_resource_free(again);
  exp_resource_free(thing);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &loc), 0);
  CHECK_STR(cJSON_GetStringValue(exp_resource_get(loc, "zones.1.key")),
            "zone-b");
  CHECK_INT(exp_location_zones(loc, &zones), 0);
  CHECK_STR(
      cJSON_GetStringValue(exp_resource_get(exp_results_at(zones, 0), "key")),
      "zone-a");
  CHECK_INT(exp_resource_set(exp_results_at(zones, 0), "note",
                             cJSON_CreateString("n")),
            0);
  CHECK_STR(cJSON_GetStringValue(exp_resource_get(loc, "zones.0.note")), "n");
  exp_results_free(zones);
  exp_resource_free(loc);
}

static void test_zones(void) {
  exp_resource *loc, *za, *zb, *fresh;
  exp_results *zones, *rs;

  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &loc), 0);
  CHECK_INT(exp_location_zones(loc, &zones), 0);
  CHECK_STR(uuids(zones), "zone-a,zone-b");
  za = exp_results_take(zones, 0);
  zb = exp_results_take(zones, 1);
  exp_results_free(zones);
  CHECK_STR(exp_zone_key(za), "zone-a");
  CHECK_STR(exp_resource_name(zb), "Zone B");
  CHECK(exp_zone_location(za) == loc);

  CHECK_INT(exp_resource_devices_wait(za, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-uuid");
  exp_results_free(rs);
  CHECK_INT(exp_resource_devices_wait(zb, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-device-2");
  exp_results_free(rs);
  CHECK_INT(exp_resource_things_wait(za, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-thing");
  exp_results_free(rs);

  /* Saving a zone saves its location. */
  exp_resource_free(loc);
  CHECK_INT(exp_resource_set_name(zb, "Zone B renamed"), 0);
  CHECK_INT(exp_resource_save_wait(zb), 0);
  CHECK_STR(exp_resource_name(zb), "Zone B renamed");
  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &fresh),
            0);
  CHECK_INT(exp_location_zones(fresh, &zones), 0);
  CHECK_STR(exp_resource_name(exp_results_at(zones, 1)), "Zone B renamed");
  exp_results_free(zones);

  /* Refresh: the server's version comes back. */
  exp_resource_set_name(za, "local only");
  CHECK_INT(exp_resource_refresh_wait(za), 0);
  CHECK_STR(exp_resource_name(za), "Zone A");

  /* Put it back; then a zone removed on the server is not found. */
  exp_resource_set_name(zb, "Zone B");
  CHECK_INT(exp_resource_save_wait(zb), 0);
  CHECK_INT(exp_resource_refresh_wait(fresh), 0);
  cJSON_DeleteItemFromArray(
      cJSON_GetObjectItem(exp_resource_document(fresh), "zones"), 0);
  CHECK_INT(exp_resource_save_wait(fresh), 0);
  CHECK_INT(exp_resource_refresh_wait(za), EXP_ENOTFOUND);
  CHECK(exp_resource_document(za) == NULL);
  CHECK_STR(exp_resource_name(zb), "Zone B");
  CHECK_INT(exp_resource_save_wait(za), EXP_ENOTFOUND);
  /* Restore the fixture. */
  cJSON_InsertItemInArray(
      cJSON_GetObjectItem(exp_resource_document(fresh), "zones"), 0,
      rt_json("{\"key\":\"zone-a\",\"name\":\"Zone A\"}"));
  CHECK_INT(exp_resource_save_wait(fresh), 0);
  CHECK_INT(exp_resource_refresh_wait(za), 0);
  CHECK_STR(exp_resource_name(za), "Zone A");
  exp_resource_free(fresh);
  exp_resource_free(za);
  exp_resource_free(zb);
}

/* --------------------------------------------------------------- content */

static void expect_url(const char *url, const char *path_and_query) {
  char want[1024];
  snprintf(want, sizeof(want), "%s%s%s", server.origin, path_and_query,
           rt_restricted_token(sdk));
  CHECK_STR(url, want);
}

static int has_bytes(const char *body, size_t len, const char *what) {
  size_t n = strlen(what);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(body + i, what, n) == 0)
      return 1;
  return 0;
}

/* Fetches url and compares what comes back. */
static void expect_bytes(const char *url, const char *type, size_t len,
                         const char *contains) {
  int status = 0;
  char *body = NULL, *ctype = NULL;
  size_t got = 0;
  CHECK_INT(rt_fetch(url, &status, &body, &got, &ctype), 0);
  CHECK_INT(status, 200);
  CHECK(ctype != NULL && strncmp(ctype, type, strlen(type)) == 0);
  if (len > 0)
    CHECK_INT(got, len);
  if (contains != NULL)
    CHECK(body != NULL && has_bytes(body, got, contains));
  free(body);
  free(ctype);
}

static void test_content(void) {
  exp_resource *root, *folder, *file, *text, *app, *link;
  exp_results *rs;
  cJSON *files = rt_json("{\"subtype\":\"scala:content:file\"}");
  char *url;

  CHECK_INT(exp_get_resource_wait(sdk, EXP_CONTENT, "root", &root), 0);
  CHECK_INT(exp_content_children_wait(root, NULL, &rs), 0);
  CHECK_STR(uuids(rs), "test-content-folder,test-content-app,test-content-url");
  folder = exp_results_take(rs, 0);
  app = exp_results_take(rs, 1);
  link = exp_results_take(rs, 2);
  exp_results_free(rs);
  CHECK_INT(exp_content_children_wait(root, files, &rs), 0);
  CHECK_INT(exp_results_count(rs), 0);
  exp_results_free(rs);
  CHECK_INT(exp_content_children_wait(folder, files, &rs), 0);
  CHECK_STR(uuids(rs), "test-content-file,test-content-text");
  file = exp_results_take(rs, 0);
  text = exp_results_take(rs, 1);
  exp_results_free(rs);
  cJSON_Delete(files);

  /* A file: each segment of its path percent-encoded. */
  url = exp_content_url(file);
  expect_url(url, "/api/delivery/scala/folder/file%20name.png?_rt=");
  expect_bytes(url, "image/png",
               (size_t)cJSON_GetObjectItem(exp_resource_document(file), "size")
                   ->valueint,
               "\x89PNG");
  exp_free(url);
  url = exp_content_url(text);
  expect_url(url, "/api/delivery/scala/folder/"
                  "notes%20%26%20%C3%BCn%C3%AFcode%20%281%29.txt?_rt=");
  expect_bytes(url, "text/plain", 0,
               "Hello from the EXP reference server: notes & \xc3\xbcn"
               "\xc3\xaf"
               "code (1).\n");
  exp_free(url);

  /* An app: its index.html.  A url item: its own URL. */
  url = exp_content_url(app);
  expect_url(url, "/api/delivery/scala/My%20App/index.html?_rt=");
  expect_bytes(url, "text/html", 0, "<h1>EXP test app</h1>");
  exp_free(url);
  url = exp_content_url(link);
  CHECK_STR(url, "https://example.com/some/page?x=1");
  exp_free(url);

  /* Variants. */
  CHECK(exp_content_has_variant(file, "320.png"));
  CHECK(exp_content_has_variant(file, "thumb small"));
  CHECK(!exp_content_has_variant(file, "thumb"));
  CHECK(!exp_content_has_variant(text, "320.png"));
  url = exp_content_variant_url(file, "thumb small");
  CHECK(url != NULL && strstr(url, "/api/delivery/scala/folder/"
                                   "file%20name.png?_rt=") != NULL);
  CHECK(url != NULL && strstr(url, "&variant=thumb%20small") != NULL);
  expect_bytes(url, "image/png", 0, "\x89PNG");
  exp_free(url);
  url = exp_content_variant_url(file, "a&b=c.png");
  CHECK(url != NULL && strstr(url, "&variant=a%26b%3Dc.png") != NULL);
  expect_bytes(url, "image/png", 0, "\x89PNG");
  exp_free(url);
  CHECK(exp_content_variant_url(link, "320.png") == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK(exp_content_variant_url(folder, "x") == NULL);

  /* Content is read-only. */
  CHECK_INT(exp_resource_save_wait(file), EXP_EOPTIONS);
  CHECK_INT(exp_resource_delete_wait(file), EXP_EOPTIONS);
  CHECK_INT(exp_resource_refresh_wait(file), 0);
  CHECK_STR(exp_resource_name(file), "file name.png");

  exp_resource_free(root);
  exp_resource_free(folder);
  exp_resource_free(file);
  exp_resource_free(text);
  exp_resource_free(app);
  exp_resource_free(link);
}

static void test_layout(void) {
  exp_resource *loc;
  char *url;
  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "test-location", &loc), 0);
  url = exp_location_layout_url(loc);
  expect_url(url, "/api/locations/test-location/layout?_rt=");
  expect_bytes(url, "image/svg+xml", 0, "Zone A");
  exp_free(url);
  exp_resource_free(loc);
}

/* ----------------------------------------------------------------- feeds */

static void test_feeds(void) {
  exp_resource *st, *dyn, *dev;
  cJSON *data = NULL, *search = rt_json("{\"searchValue\":\"10001\"}");

  CHECK_INT(exp_get_resource_wait(sdk, EXP_FEED, "test-feed-static", &st), 0);
  CHECK_INT(exp_feed_data_wait(st, NULL, &data), 0);
  CHECK_STR(
      cJSON_GetStringValue(cJSON_GetObjectItem(
          cJSON_GetArrayItem(cJSON_GetObjectItem(data, "items"), 0), "title")),
      "First item");
  cJSON_Delete(data);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_FEED, "test-feed-dynamic", &dyn), 0);
  CHECK_INT(exp_feed_data_wait(dyn, search, &data), 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(data, "search"), "search")),
            "10001");
  cJSON_Delete(data);
  CHECK_INT(exp_feed_data_wait(dyn, NULL, &data), 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(data, "search"), "search")),
            "19713");
  cJSON_Delete(data);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "test-uuid", &dev), 0);
  CHECK_INT(exp_feed_data_wait(dev, NULL, &data), EXP_EOPTIONS);
  CHECK(data == NULL);
  exp_resource_free(dev);
  exp_resource_free(st);
  exp_resource_free(dyn);
  cJSON_Delete(search);
}

/* ------------------------------------------------------------------ data */

static void test_data(void) {
  exp_resource *item = NULL, *again = NULL;
  exp_results *rs;
  cJSON *q = rt_json("{\"group\":\"test-group\"}");
  cJSON *v1 = rt_json("{\"n\":1,\"s\":\"\xc3\xbc\"}");
  cJSON *v2 = rt_json("{\"n\":2}");
  char *channel;

  /* Get: the group defaults to "default". */
  CHECK_INT(exp_get_data_wait(sdk, NULL, "test-key", &item), 0);
  CHECK_INT(exp_resource_kind(item), EXP_DATA);
  CHECK_STR(exp_data_group(item), "default");
  CHECK_STR(exp_data_key(item), "test-key");
  CHECK_STR(cJSON_GetStringValue(
                cJSON_GetObjectItem(exp_data_value(item), "message")),
            "hello");
  CHECK(exp_resource_uuid(item) == NULL);
  exp_resource_free(item);

  CHECK_INT(exp_find_resources_wait(sdk, EXP_DATA, q, &rs), 0);
  CHECK_STR(uuids(rs), "alpha,beta");
  CHECK_INT(exp_results_total(rs), 2);
  CHECK_STR(exp_data_group(exp_results_at(rs, 1)), "test-group");
  exp_results_free(rs);

  /* Create (a PUT of the value), with a group and key that need
   * encoding. */
  CHECK_INT(exp_create_data_wait(sdk, "c tests", "k/1 \xc3\xbc", v1, &item), 0);
  CHECK_STR(exp_data_group(item), "c tests");
  CHECK_STR(exp_data_key(item), "k/1 \xc3\xbc");
  CHECK_INT(cJSON_GetObjectItem(exp_data_value(item), "n")->valueint, 1);
  channel = exp_resource_channel_name(item);
  CHECK_STR(channel, "data:k/1 \xc3\xbc:c tests");
  free(channel);
  /* Writing again is allowed. */
  CHECK_INT(exp_create_data_wait(sdk, "c tests", "k/1 \xc3\xbc", v1, &again),
            0);
  exp_resource_free(again);

  CHECK_INT(exp_data_set_value(item, v2), 0);
  CHECK_INT(exp_resource_save_wait(item), 0);
  CHECK_INT(exp_get_data_wait(sdk, "c tests", "k/1 \xc3\xbc", &again), 0);
  CHECK_INT(cJSON_GetObjectItem(exp_data_value(again), "n")->valueint, 2);
  CHECK(cJSON_GetObjectItem(exp_data_value(again), "s") == NULL);
  cJSON_AddStringToObject(exp_data_value(again), "by", "again");
  CHECK_INT(exp_resource_save_wait(again), 0);
  CHECK_INT(exp_resource_refresh_wait(item), 0);
  CHECK_STR(
      cJSON_GetStringValue(cJSON_GetObjectItem(exp_data_value(item), "by")),
      "again");

  CHECK_INT(exp_resource_delete_wait(item), 0);
  exp_resource_free(again);
  again = (exp_resource *)&again;
  CHECK_INT(exp_get_data_wait(sdk, "c tests", "k/1 \xc3\xbc", &again),
            EXP_ENOTFOUND);
  CHECK(again == NULL);
  CHECK_INT(exp_resource_delete_wait(item), EXP_ENOTFOUND);
  check_error(EXP_ENOTFOUND, 404, "not.found", NULL);
  exp_resource_free(item);

  /* A NULL out lets the result go. */
  CHECK_INT(exp_create_data_wait(sdk, "g", "k", v1, NULL), 0);
  CHECK_INT(exp_get_data_wait(sdk, "g", "k", &item), 0);
  CHECK_INT(exp_resource_delete_wait(item), 0);
  exp_resource_free(item);

  cJSON_Delete(q);
  cJSON_Delete(v1);
  cJSON_Delete(v2);
}

/* -------------------------------------------------------------- current */

static void test_current_as_user(void) {
  exp_resource *d = (exp_resource *)&d;
  exp_results *z = (exp_results *)&z;
  CHECK_INT(exp_current_device_wait(sdk, &d), EXP_ENOTFOUND);
  CHECK(d == NULL);
  check_error(EXP_ENOTFOUND, 0, NULL, "device");
  CHECK_INT(exp_current_zones_wait(sdk, &z), EXP_ENOTFOUND);
  CHECK(z == NULL);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void) {
  cJSON *arr = rt_json("[]");
  exp_resource *r = (exp_resource *)&r;
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, NULL, &r), EXP_EOPTIONS);
  CHECK(r == NULL);
  check_error(EXP_EOPTIONS, 0, NULL, "uuid");
  CHECK_INT(exp_get_resource_wait(sdk, EXP_THING, "", &r), EXP_EOPTIONS);
  CHECK_INT(exp_create_resource_wait(sdk, EXP_THING, arr, &r), EXP_EOPTIONS);
  check_error(EXP_EOPTIONS, 0, NULL, "JSON object");
  CHECK_INT(exp_create_data_wait(sdk, "g", "k", arr, &r), EXP_EOPTIONS);
  CHECK_INT(exp_get_data_wait(sdk, "g", NULL, &r), EXP_EOPTIONS);
  CHECK_INT(exp_create_resource_wait(sdk, EXP_CONTENT, NULL, &r), EXP_EOPTIONS);
  cJSON_Delete(arr);
}

/* ------------------------------------------------------------ async */

typedef struct async_state {
  exp_sdk *sdk;
  int in_call; /* set while an async form runs: its callback must wait */
  int step;
  int calls;
  exp_resource *device;
} async_state;

static void on_async_step(async_state *st);

static void on_cancelled(exp_sdk *s, int status, exp_resource *res, void *ud) {
  async_state *st = ud;
  EXP_UNUSED(s);
  CHECK_INT(status, EXP_ECANCELLED);
  CHECK(res == NULL);
  st->calls++;
}

static void on_async_done(exp_sdk *s, int status, void *ud) {
  async_state *st = ud;
  CHECK(s == st->sdk);
  CHECK_INT(status, 0);
  CHECK(!st->in_call);
  st->calls++;
  on_async_step(st);
}

static void on_async_results(exp_sdk *s, int status, exp_results *rs,
                             void *ud) {
  async_state *st = ud;
  exp_resource *r = NULL;
  CHECK(s == st->sdk);
  CHECK_INT(status, 0);
  CHECK(!st->in_call);
  st->calls++;
  CHECK_INT(exp_results_count(rs), 1);
  /* Blocking calls refuse to run inside a callback, before any request. */
  CHECK_INT(exp_get_resource_wait(s, EXP_DEVICE, "test-uuid", &r),
            EXP_EDEADLOCK);
  CHECK(r == NULL);
  CHECK_INT(exp_resource_save_wait(exp_results_at(rs, 0)), EXP_EDEADLOCK);
  exp_results_free(rs);
  on_async_step(st);
}

static void on_cancelled_results(exp_sdk *s, int status, exp_results *rs,
                                 void *ud) {
  async_state *st = ud;
  EXP_UNUSED(s);
  CHECK_INT(status, EXP_ECANCELLED);
  CHECK(rs == NULL);
  st->calls++;
}

/* The zones of a device in no location: an empty set, from the loop. */
static void on_async_no_zones(exp_sdk *s, int status, exp_results *rs,
                              void *ud) {
  async_state *st = ud;
  CHECK(s == st->sdk);
  CHECK_INT(status, 0);
  CHECK(!st->in_call);
  st->calls++;
  CHECK(rs != NULL);
  CHECK_INT(exp_results_count(rs), 0);
  exp_results_free(rs);
  on_async_step(st);
}

static void on_async_resource(exp_sdk *s, int status, exp_resource *res,
                              void *ud) {
  async_state *st = ud;
  CHECK(s == st->sdk);
  CHECK(!st->in_call);
  st->calls++;
  if (st->step == 2) {
    CHECK_INT(status, EXP_ENOTFOUND);
    CHECK(res == NULL);
    CHECK_INT(exp_last_error(s)->http_status, 404);
  } else if (st->step == 11 || st->step == 12) {
    /* Known without a request: no location, not logged in as a device. */
    CHECK_INT(status, EXP_ENOTFOUND);
    CHECK(res == NULL);
    CHECK_INT(exp_last_error(s)->code, EXP_ENOTFOUND);
    CHECK_INT(exp_last_error(s)->http_status, 0);
  } else {
    CHECK_INT(status, 0);
    CHECK(res != NULL);
    exp_resource_free(st->device);
    st->device = res;
  }
  on_async_step(st);
}

/* Each step starts the next async call from inside the previous one's
 * callback; the last stops the SDK with one call still pending. */
static void on_async_step(async_state *st) {
  exp_sdk *s = st->sdk;
  cJSON *q;
  int rc = 0;
  st->in_call = 1;
  switch (st->step++) {
  case 0:
    rc = exp_get_resource(s, EXP_DEVICE, "test-uuid", on_async_resource, st);
    break;
  case 1:
    rc = exp_get_resource(s, EXP_DEVICE, "nope", on_async_resource, st);
    break;
  case 2:
    q = rt_json("{\"limit\":1}");
    rc = exp_find_resources(s, EXP_DEVICE, q, on_async_results, st);
    cJSON_Delete(q);
    break;
  case 3:
    exp_resource_set_name(st->device, "Async");
    rc = exp_resource_save(st->device, on_async_done, st);
    /* The caller may let go at once: the save holds on to it. */
    exp_resource_free(st->device);
    st->device = NULL;
    break;
  case 4:
    rc = exp_get_data(s, "test-group", "alpha", on_async_resource, st);
    break;
  case 5:
    rc = exp_resource_refresh(st->device, on_async_done, st);
    break;
  case 6:
    rc = exp_create_data(s, NULL, "async", exp_data_value(st->device),
                         on_async_resource, st);
    break;
  case 7:
    rc = exp_resource_delete(st->device, on_async_done, st);
    break;
  case 8:
    rc =
        exp_get_resource(s, EXP_DEVICE, "test-device-3", on_async_resource, st);
    break;
  case 9:
    rc = exp_resource_zones(st->device, on_async_no_zones, st);
    break;
  case 10:
    rc = exp_resource_location(st->device, on_async_resource, st);
    break;
  case 11:
    rc = exp_current_device(s, on_async_resource, st);
    break;
  default:
    /* A request and an answer known without one, both cancelled. */
    rc = exp_get_resource(s, EXP_DEVICE, "test-uuid", on_cancelled, st);
    CHECK_INT(rc, 0);
    rc = exp_resource_zones(st->device, on_cancelled_results, st);
    CHECK_INT(rc, 0);
    exp_resource_free(st->device);
    st->device = NULL;
    st->in_call = 0;
    exp_stop(s);
    return;
  }
  st->in_call = 0;
  CHECK_INT(rc, 0);
}

static void on_async_started(exp_sdk *s, int status, void *ud) {
  async_state *st = ud;
  CHECK_INT(status, 0);
  st->sdk = s;
  on_async_step(st);
}

static void test_async(void) {
  uv_loop_t loop;
  async_state st = {0};
  exp_sdk *s;

  uv_loop_init(&loop);
  s = rt_user_on(&loop, server.origin);
  st.sdk = s;
  CHECK_INT(exp_start(s, on_async_started, &st), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(st.step, 13);
  CHECK_INT(st.calls, 14);
  CHECK(st.device == NULL);
  CHECK_INT(uv_loop_close(&loop), 0);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  if (refserver_start(&server, argv[1], argv[2], NULL) != 0)
    return 1;
  sdk = rt_user(server.origin);
  if (sdk == NULL) {
    refserver_stop(&server);
    return 1;
  }
  RUN(test_get);
  RUN(test_not_found);
  RUN(test_find);
  RUN(test_crud);
  RUN(test_server_errors);
  RUN(test_device_links);
  RUN(test_members);
  RUN(test_fields);
  RUN(test_zones);
  RUN(test_content);
  RUN(test_layout);
  RUN(test_feeds);
  RUN(test_data);
  RUN(test_current_as_user);
  RUN(test_bad_input);
  RUN(test_async);
  exp_stop(sdk);
  refserver_stop(&server);
  return t_done();
}
