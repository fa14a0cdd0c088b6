/* Dotted paths into JSON documents, and exp_json_string. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "json.h"
#include "testlib.h"

static cJSON *doc(void) {
  return cJSON_Parse("{\"name\":\"n\",\"location\":{\"uuid\":\"l1\","
                     "\"zones\":[{\"key\":\"z0\"},{\"key\":\"z1\"}]},"
                     "\"a.b\":1,\"n\":null}");
}

static const char *str(const cJSON *j) {
  return cJSON_GetStringValue(j);
}

static void test_get(void) {
  cJSON *d = doc();

  CHECK(exp_json_path(d, "") == d);
  CHECK(exp_json_get(d, "location.zones.0") ==
        exp_json_path(d, "location.zones.0"));
  CHECK_STR(str(exp_json_path(d, "name")), "n");
  CHECK_STR(str(exp_json_path(d, "location.uuid")), "l1");
  CHECK_STR(str(exp_json_path(d, "location.zones.1.key")), "z1");
  CHECK(cJSON_IsNull(exp_json_path(d, "n")));
  CHECK(exp_json_path(d, "location.zones.2") == NULL);
  CHECK(exp_json_path(d, "location.zones.x") == NULL);
  CHECK(exp_json_path(d, "location.zones.-1") == NULL);
  CHECK(exp_json_path(d, "location.zones.99999999999") == NULL);
  CHECK(exp_json_path(d, "name.x") == NULL);
  CHECK(exp_json_path(d, "Name") == NULL); /* case-sensitive */
  CHECK(exp_json_path(d, "a.b") == NULL);  /* dots always separate */
  CHECK(exp_json_path(d, "location.") == NULL);
  CHECK(exp_json_path(d, ".name") == NULL);
  CHECK(exp_json_path(d, NULL) == NULL);
  CHECK(exp_json_path(NULL, "name") == NULL);
  cJSON_Delete(d);
}

static void test_set(void) {
  cJSON *d = doc();
  char *s;

  /* Replace, never a duplicate key. */
  CHECK_INT(exp_json_set_path(d, "name", cJSON_CreateString("m")), 0);
  CHECK_STR(str(exp_json_path(d, "name")), "m");
  CHECK_INT(exp_json_set_path(d, "name", cJSON_CreateNumber(3)), 0);
  s = cJSON_PrintUnformatted(d);
  CHECK(strstr(s, "\"name\":3") != NULL);
  CHECK(strstr(strstr(s, "\"name\"") + 1, "\"name\"") == NULL);
  exp_free(s);
  /* Add, with the objects on the way. */
  CHECK_INT(exp_json_set_path(d, "extra.deep.v", cJSON_CreateTrue()), 0);
  CHECK(cJSON_IsTrue(exp_json_path(d, "extra.deep.v")));
  CHECK_INT(
      exp_json_set_path(d, "location.zones.0.key", cJSON_CreateString("q")), 0);
  CHECK_STR(str(exp_json_path(d, "location.zones.0.key")), "q");
  CHECK_INT(exp_json_set_path(d, "location.zones.1", cJSON_CreateString("r")),
            0);
  CHECK_STR(str(exp_json_path(d, "location.zones.1")), "r");
  /* Blocked ways: the value is freed (the leak check sees it). */
  CHECK_INT(exp_json_set_path(d, "name.x", cJSON_CreateTrue()), EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, "location.zones.5", cJSON_CreateTrue()),
            EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, "location.zones.7.k", cJSON_CreateTrue()),
            EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, "", cJSON_CreateTrue()), EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, "a..b", cJSON_CreateTrue()), EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, NULL, cJSON_CreateTrue()), EXP_EOPTIONS);
  CHECK_INT(exp_json_set_path(d, "name", NULL), EXP_ENOMEM);
  CHECK_INT(
      exp_json_set_path(exp_json_path(d, "name"), "x", cJSON_CreateTrue()),
      EXP_EOPTIONS);
  CHECK(exp_json_path(d, "a") == NULL);
  cJSON_Delete(d);
}

static void test_string(void) {
  cJSON *d = cJSON_Parse("{\"a\": [1, \"\\u00fc\"]}");
  char *s = exp_json_string(d);
  CHECK_STR(s, "{\"a\":[1,\"\xc3\xbc\"]}");
  exp_free(s);
  s = exp_json_string(NULL);
  CHECK_STR(s, "null");
  exp_free(s);
  cJSON_Delete(d);
}

int main(void) {
  RUN(test_get);
  RUN(test_set);
  RUN(test_string);
  return t_done();
}
