/* Resources without a server: find answers of every shape, documents
 * replaced in place, zones inside their location, channel names, paths,
 * and the bad input every public call refuses before any request. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "resource.h"
#include "testlib.h"
#include "zone.h"

static exp_sdk *sdk;

static cJSON *parse(const char *s) {
  cJSON *j = cJSON_Parse(s);
  CHECK(j != NULL);
  return j;
}

static void test_results_good(void) {
  cJSON *answer = parse("{\"results\":[{\"uuid\":\"a\",\"name\":\"A\"},"
                        "{\"uuid\":\"b\"}],\"total\":12,\"page\":2}");
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(answer, "results"), 0);
  exp_results *rs;
  exp_resource *taken;
  char msg[128];

  CHECK_INT(
      exp_results_from_answer(sdk, EXP_THING, answer, &rs, msg, sizeof(msg)),
      0);
  CHECK_INT(exp_results_count(rs), 2);
  CHECK_INT(exp_results_total(rs), 12);
  /* The element itself moved into the resource: no copy. */
  CHECK(exp_resource_document(exp_results_at(rs, 0)) == first);
  CHECK_STR(exp_resource_name(exp_results_at(rs, 0)), "A");
  CHECK_STR(exp_resource_uuid(exp_results_at(rs, 1)), "b");
  CHECK_INT(exp_resource_kind(exp_results_at(rs, 1)), EXP_THING);
  CHECK(exp_results_at(rs, 2) == NULL);
  CHECK_INT(cJSON_GetArraySize(exp_results_extra(rs)), 1);
  CHECK_INT(cJSON_GetObjectItem(exp_results_extra(rs), "page")->valueint, 2);
  taken = exp_results_take(rs, 1);
  CHECK_STR(exp_resource_uuid(taken), "b");
  CHECK(exp_results_at(rs, 1) == NULL);
  CHECK(exp_results_take(rs, 1) == NULL);
  exp_results_free(rs);
  CHECK_STR(exp_resource_uuid(taken), "b");
  exp_resource_free(taken);

  /* No total: the count. */
  CHECK_INT(exp_results_from_answer(sdk, EXP_DEVICE,
                                    parse("{\"results\":[{}]}"), &rs, msg,
                                    sizeof(msg)),
            0);
  CHECK_INT(exp_results_total(rs), 1);
  CHECK_INT(cJSON_GetArraySize(exp_results_extra(rs)), 0);
  exp_results_free(rs);
}

static void test_results_garbage(void) {
  static const char *const bad[] = {
      "[]",
      "null",
      "\"results\"",
      "{}",
      "{\"total\":1}",
      "{\"results\":{}}",
      "{\"results\":null}",
      "{\"results\":[1]}",
      "{\"results\":[{},[]]}",
      "{\"results\":[{},\"x\"]}",
      "{\"results\":[],\"total\":\"1\"}",
      "{\"results\":[],\"total\":-1}",
      "{\"results\":[],\"total\":1e300}",
      "{\"results\":[],\"total\":null}",
  };
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    exp_results *rs = (exp_results *)&rs;
    char msg[128] = "";
    CHECK_INT(exp_results_from_answer(sdk, EXP_DEVICE, parse(bad[i]), &rs, msg,
                                      sizeof(msg)),
              EXP_EPROTOCOL);
    CHECK(rs == NULL);
    CHECK(strstr(msg, "malformed") != NULL);
  }
  /* NULL: an empty body. */
  {
    exp_results *rs;
    char msg[128];
    CHECK_INT(
        exp_results_from_answer(sdk, EXP_DEVICE, NULL, &rs, msg, sizeof(msg)),
        EXP_EPROTOCOL);
  }
}

static void test_replace(void) {
  exp_resource *res =
      exp_resource_new(sdk, EXP_DEVICE, parse("{\"uuid\":\"d\",\"a\":1}"));
  cJSON *doc = exp_resource_document(res);

  CHECK_INT(exp_resource_replace(res, parse("{\"uuid\":\"d\",\"b\":2}")), 0);
  CHECK(exp_resource_document(res) == doc);
  CHECK(cJSON_GetObjectItem(doc, "a") == NULL);
  CHECK_INT(cJSON_GetObjectItem(doc, "b")->valueint, 2);
  CHECK_INT(exp_resource_replace(res, parse("[1]")), EXP_EPROTOCOL);
  CHECK_INT(exp_resource_replace(res, NULL), EXP_EPROTOCOL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EPROTOCOL);
  CHECK_INT(cJSON_GetObjectItem(doc, "b")->valueint, 2);

  CHECK_INT(exp_resource_set_name(res, "Named"), 0);
  CHECK_STR(exp_resource_name(res), "Named");
  CHECK_INT(exp_resource_set_name(res, "Renamed"), 0);
  CHECK_STR(exp_resource_name(res), "Renamed");
  CHECK_INT(exp_resource_set_name(res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_set_name(NULL, "x"), EXP_EOPTIONS);
  exp_resource_free(res);
}

static void test_zones(void) {
  exp_resource *loc = exp_resource_new(
      sdk, EXP_LOCATION,
      parse("{\"uuid\":\"L\",\"zones\":[{\"key\":\"a\",\"name\":\"A\"},"
            "{\"key\":\"b\",\"name\":\"B\"}]}"));
  cJSON *keys = parse("[\"b\",\"zz\"]");
  exp_results *rs;
  exp_resource *za, *zb;
  char *name;

  CHECK_INT(exp_location_zones(loc, &rs), 0);
  CHECK_INT(exp_results_count(rs), 2);
  CHECK_INT(exp_results_total(rs), 2);
  CHECK(exp_results_extra(rs) == NULL);
  za = exp_results_take(rs, 0);
  zb = exp_results_take(rs, 1);
  exp_results_free(rs);
  CHECK_INT(exp_resource_kind(za), EXP_ZONE);
  CHECK_STR(exp_zone_key(za), "a");
  CHECK_STR(exp_resource_name(zb), "B");
  CHECK(exp_resource_uuid(za) == NULL);
  CHECK(exp_zone_location(za) == loc);

  /* A zone's document is its element of the location's document. */
  CHECK_INT(exp_resource_set_name(za, "Zone A+"), 0);
  CHECK_STR(
      cJSON_GetObjectItem(
          cJSON_GetArrayItem(
              cJSON_GetObjectItem(exp_resource_document(loc), "zones"), 0),
          "name")
          ->valuestring,
      "Zone A+");

  name = exp_resource_channel_name(zb);
  CHECK_STR(name, "L:zone:b");
  free(name);

  /* Found again by key after the location's document is replaced; gone
   * when the key is. */
  CHECK_INT(exp_resource_replace(
                loc, parse("{\"uuid\":\"L\",\"zones\":[{\"key\":\"b\","
                           "\"name\":\"B2\"}]}")),
            0);
  CHECK_STR(exp_resource_name(zb), "B2");
  CHECK(exp_resource_document(za) == NULL);
  CHECK(exp_resource_name(za) == NULL);
  CHECK_INT(exp_resource_set_name(za, "x"), EXP_ENOTFOUND);
  /* A save would answer that from the loop, which a handle never started
   * does not run. */
  CHECK_INT(exp_resource_save(za, NULL, NULL), EXP_ERUNTIME);

  /* Filtered by keys. */
  CHECK_INT(exp_zone_list(loc, keys, &rs), 0);
  CHECK_INT(exp_results_count(rs), 1);
  CHECK_STR(exp_zone_key(exp_results_at(rs, 0)), "b");
  exp_results_free(rs);
  cJSON_Delete(keys);

  /* Zones keep their location alive. */
  exp_resource_free(loc);
  CHECK_STR(exp_resource_uuid(exp_zone_location(zb)), "L");
  exp_resource_free(za);
  exp_resource_free(zb);

  CHECK(exp_zone_key(NULL) == NULL);
  CHECK(exp_zone_location(NULL) == NULL);
}

static void test_zones_garbage(void) {
  static const char *const bad[] = {
      "{\"zones\":5}",
      "{\"zones\":{\"key\":\"a\"}}",
      "{\"zones\":[1]}",
      "{\"zones\":[{\"name\":\"no key\"}]}",
      "{\"zones\":[{\"key\":\"a\"},{\"key\":7}]}",
  };
  static const char *const empty[] = {"{}", "{\"zones\":null}",
                                      "{\"zones\":[]}"};
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    exp_resource *loc = exp_resource_new(sdk, EXP_LOCATION, parse(bad[i]));
    exp_results *rs = (exp_results *)&rs;
    CHECK_INT(exp_location_zones(loc, &rs), EXP_EPROTOCOL);
    CHECK(rs == NULL);
    exp_resource_free(loc);
  }
  for (size_t i = 0; i < EXP_ARRAY_SIZE(empty); i++) {
    exp_resource *loc = exp_resource_new(sdk, EXP_LOCATION, parse(empty[i]));
    exp_results *rs;
    CHECK_INT(exp_location_zones(loc, &rs), 0);
    CHECK_INT(exp_results_count(rs), 0);
    exp_results_free(rs);
    exp_resource_free(loc);
  }
}

static void test_channel_names(void) {
  exp_resource *d =
      exp_resource_new(sdk, EXP_DEVICE, parse("{\"uuid\":\"u\"}"));
  exp_resource *item = exp_resource_new(
      sdk, EXP_DATA, parse("{\"group\":\"g\",\"key\":\"k\",\"value\":{}}"));
  exp_resource *none =
      exp_resource_new(sdk, EXP_DATA, parse("{\"key\":\"k\"}"));
  char *name;

  name = exp_resource_channel_name(d);
  CHECK_STR(name, "u");
  free(name);
  name = exp_resource_channel_name(item);
  CHECK_STR(name, "data:k:g");
  free(name);
  CHECK(exp_resource_channel_name(none) == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK(exp_resource_uuid(item) == NULL);
  CHECK_STR(exp_data_group(item), "g");
  CHECK_STR(exp_data_key(item), "k");
  exp_resource_free(d);
  exp_resource_free(item);
  exp_resource_free(none);
}

static void test_paths(void) {
  char *p;
  CHECK_INT(exp_resource_item_path(sdk, EXP_FEED, "a b/c?", "/data", &p), 0);
  CHECK_STR(p, "/api/connectors/feeds/a%20b%2Fc%3F/data");
  free(p);
  CHECK_INT(exp_resource_item_path(sdk, EXP_DEVICE, "", NULL, &p),
            EXP_EOPTIONS);
  CHECK(p == NULL);
  CHECK(strstr(exp_last_error(sdk)->message, "uuid") != NULL);
  CHECK_INT(exp_resource_item_path(sdk, EXP_DEVICE, NULL, NULL, &p),
            EXP_EOPTIONS);
  CHECK_INT(exp_resource_item_path(sdk, EXP_ZONE, "z", NULL, &p), EXP_EOPTIONS);
  CHECK_INT(exp_resource_data_path(sdk, "my group", "k/1&2", &p), 0);
  CHECK_STR(p, "/api/data/my%20group/k%2F1%262");
  free(p);
  CHECK_INT(exp_resource_data_path(sdk, "", "k", &p), EXP_EOPTIONS);
  CHECK_INT(exp_resource_data_path(sdk, "g", NULL, &p), EXP_EOPTIONS);
}

static void test_str_at(void) {
  cJSON *doc = parse("{\"location\":{\"uuid\":\"L\",\"n\":1},\"x\":\"y\"}");
  CHECK_STR(exp_resource_str_at(doc, "location.uuid"), "L");
  CHECK_STR(exp_resource_str_at(doc, "x"), "y");
  CHECK(exp_resource_str_at(doc, "location.n") == NULL);
  CHECK(exp_resource_str_at(doc, "x.y") == NULL);
  CHECK(exp_resource_str_at(doc, "nope.uuid") == NULL);
  CHECK(exp_resource_str_at(NULL, "x") == NULL);
  cJSON_Delete(doc);
}

static void test_data_value(void) {
  exp_resource *item = exp_resource_new(
      sdk, EXP_DATA, parse("{\"group\":\"g\",\"key\":\"k\",\"value\":{}}"));
  cJSON *v = parse("{\"n\":1}");
  cJSON *arr = parse("[1]");

  CHECK_INT(exp_data_set_value(item, v), 0);
  /* Copied: the caller keeps its own. */
  CHECK(exp_data_value(item) != v);
  CHECK_INT(cJSON_GetObjectItem(exp_data_value(item), "n")->valueint, 1);
  CHECK_INT(exp_data_set_value(item, arr), EXP_EOPTIONS);
  CHECK_INT(exp_data_set_value(item, NULL), EXP_EOPTIONS);
  CHECK_INT(cJSON_GetObjectItem(exp_data_value(item), "n")->valueint, 1);
  /* A value that is not an object is not sent. */
  cJSON_ReplaceItemInObject(exp_resource_document(item), "value",
                            cJSON_CreateString("s"));
  CHECK_INT(exp_resource_save(item, NULL, NULL), EXP_EOPTIONS);
  cJSON_Delete(v);
  cJSON_Delete(arr);
  exp_resource_free(item);
}

static int calls;

static void count_res(exp_sdk *s, int status, exp_resource *res, void *ud) {
  EXP_UNUSED(s);
  EXP_UNUSED(status);
  EXP_UNUSED(ud);
  exp_resource_free(res);
  calls++;
}

static void count_results(exp_sdk *s, int status, exp_results *rs, void *ud) {
  EXP_UNUSED(s);
  EXP_UNUSED(status);
  EXP_UNUSED(ud);
  exp_results_free(rs);
  calls++;
}

static void count_done(exp_sdk *s, int status, void *ud) {
  EXP_UNUSED(s);
  EXP_UNUSED(status);
  EXP_UNUSED(ud);
  calls++;
}

static void count_json(exp_sdk *s, int status, cJSON *j, void *ud) {
  EXP_UNUSED(s);
  EXP_UNUSED(status);
  EXP_UNUSED(ud);
  cJSON_Delete(j);
  calls++;
}

/* Bad input is refused with EXP_EOPTIONS before anything else: on a handle
 * that was never started, a request would give EXP_ERUNTIME instead. */
static void test_bad_input(void) {
  cJSON *arr = parse("[1]");
  cJSON *obj = parse("{\"name\":\"x\"}");
  exp_resource *dev = exp_resource_new(sdk, EXP_DEVICE, parse("{}"));
  exp_resource *content =
      exp_resource_new(sdk, EXP_CONTENT, parse("{\"uuid\":\"c\"}"));
  exp_resource *loc = exp_resource_new(sdk, EXP_LOCATION,
                                       parse("{\"zones\":[{\"key\":\"a\"}]}"));
  exp_results *zones;
  exp_resource *out = (exp_resource *)&out;

  calls = 0;
  CHECK_INT(exp_get_resource(sdk, EXP_DEVICE, NULL, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK_INT(exp_get_resource(sdk, EXP_DEVICE, "", count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_get_resource(sdk, EXP_DATA, "k", count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_get_resource(sdk, EXP_ZONE, "z", count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_get_resource(sdk, (exp_kind)42, "z", count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_get_resource(NULL, EXP_DEVICE, "u", count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_find_resources(sdk, EXP_ZONE, NULL, count_results, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_find_resources(sdk, EXP_DEVICE, arr, count_results, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_create_resource(sdk, EXP_DEVICE, arr, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_create_resource(sdk, EXP_DEVICE, NULL, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_create_resource(sdk, EXP_CONTENT, obj, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_create_resource(sdk, EXP_DATA, obj, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_get_data(sdk, "", "k", count_res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_get_data(sdk, NULL, NULL, count_res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_get_data(sdk, "g", "", count_res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_create_data(sdk, "g", "k", arr, count_res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_create_data(sdk, "g", "k", NULL, count_res, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_create_data(sdk, "g", NULL, obj, count_res, NULL),
            EXP_EOPTIONS);

  /* Calls that do not fit the kind, or miss the document's uuid. */
  CHECK_INT(exp_resource_save(NULL, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_save(dev, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_refresh(dev, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_delete(dev, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_save(content, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_delete(content, count_done, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_location_zones(loc, &zones), 0);
  CHECK_INT(exp_resource_delete(exp_results_at(zones, 0), count_done, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_resource_location(exp_results_at(zones, 0), count_res, NULL),
            EXP_EOPTIONS);
  exp_results_free(zones);
  /* A document naming no location or experience is answered from the
   * loop, like a request: here, never started, that is refused. */
  CHECK_INT(exp_resource_location(dev, count_res, NULL), EXP_ERUNTIME);
  CHECK_INT(exp_resource_zones(dev, count_results, NULL), EXP_ERUNTIME);
  CHECK_INT(exp_device_experience(dev, count_res, NULL), EXP_ERUNTIME);
  CHECK_INT(exp_device_experience(content, count_res, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_devices(dev, NULL, count_results, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_devices(loc, NULL, count_results, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_things(content, NULL, count_results, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_content_children(dev, NULL, count_results, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_content_children(content, arr, count_results, NULL),
            EXP_EOPTIONS);
  CHECK_INT(exp_feed_data(content, NULL, count_json, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_location_zones(dev, &zones), EXP_EOPTIONS);
  CHECK(zones == NULL);
  CHECK_INT(exp_location_zones(NULL, &zones), EXP_EOPTIONS);

  /* URLs: wrong kind, then no login yet. */
  CHECK(exp_content_url(dev) == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK(exp_location_layout_url(content) == NULL);
  CHECK(exp_content_variant_url(content, "") == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK(exp_content_variant_url(content, NULL) == NULL);
  CHECK(exp_content_url(content) == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS); /* no path */
  CHECK(exp_location_layout_url(loc) == NULL);        /* no uuid */
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  CHECK(!exp_content_has_variant(content, "x"));
  CHECK(!exp_content_has_variant(dev, "x"));
  CHECK(!exp_content_has_variant(NULL, "x"));

  /* Not logged in: the current device is unknown, and well-formed calls
   * go nowhere. */
  CHECK_INT(exp_current_device(sdk, count_res, NULL), EXP_ERUNTIME);
  CHECK_INT(exp_current_zones(sdk, count_results, NULL), EXP_ERUNTIME);
  CHECK(exp_get_resource(sdk, EXP_DEVICE, "u", count_res, NULL) < 0);
  CHECK(exp_find_resources(sdk, EXP_DATA, NULL, count_results, NULL) < 0);

  /* Blocking twins: the same refusals, out set to NULL. */
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "", &out), EXP_EOPTIONS);
  CHECK(out == NULL);
  CHECK_INT(exp_create_data_wait(sdk, NULL, "k", arr, &out), EXP_EOPTIONS);
  CHECK_INT(exp_resource_save_wait(NULL), EXP_EOPTIONS);
  CHECK_INT(exp_resource_delete_wait(content), EXP_EOPTIONS);
  CHECK_INT(exp_get_resource_wait(NULL, EXP_DEVICE, "u", &out), EXP_EOPTIONS);
  CHECK_INT(calls, 0);

  cJSON_Delete(arr);
  cJSON_Delete(obj);
  exp_resource_free(dev);
  exp_resource_free(content);
  exp_resource_free(loc);
}

int main(void) {
  sdk = exp_new(NULL);
  CHECK(sdk != NULL);
  RUN(test_results_good);
  RUN(test_results_garbage);
  RUN(test_replace);
  RUN(test_zones);
  RUN(test_zones_garbage);
  RUN(test_channel_names);
  RUN(test_paths);
  RUN(test_str_at);
  RUN(test_data_value);
  RUN(test_bad_input);
  exp_stop(sdk);
  return t_done();
}
