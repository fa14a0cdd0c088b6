/*
 * data.c: store a JSON value under a group and key, read it back, change
 * it, list the group, and delete it.  Logs in as a user (see README.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static int fail(exp_sdk *sdk, const char *what) {
  const exp_error_info *e = exp_last_error(sdk);
  fprintf(stderr, "%s: %s (%s)\n", what, e->message, exp_err_name(e->code));
  exp_stop(sdk);
  return 1;
}

static void print_value(const char *label, exp_resource *item) {
  char *text = exp_json_string(exp_data_value(item));
  printf("%s %s/%s = %s\n", label, exp_data_group(item), exp_data_key(item),
         text != NULL ? text : "?");
  exp_free(text);
}

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  exp_resource *item;
  exp_results *group;
  cJSON *value, *query;
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  if (exp_start_wait(sdk, 10000) != 0)
    return fail(sdk, "start");

  /* Set: a PUT of the value; writing the same key again overwrites it. */
  value = cJSON_Parse("{\"text\": \"hello\", \"count\": 1}");
  rc = exp_create_data_wait(sdk, "samples", "greeting", value, &item);
  cJSON_Delete(value);
  if (rc != 0)
    return fail(sdk, "set data");
  print_value("set", item);
  exp_resource_free(item);

  /* Get, change the value, save. */
  if (exp_get_data_wait(sdk, "samples", "greeting", &item) != 0)
    return fail(sdk, "get data");
  cJSON_SetNumberValue(cJSON_GetObjectItem(exp_data_value(item), "count"), 2);
  rc = exp_resource_save_wait(item);
  if (rc == 0)
    print_value("saved", item);

  /* Everything in the group. */
  query = cJSON_CreateObject();
  cJSON_AddStringToObject(query, "group", "samples");
  if (rc == 0 &&
      (rc = exp_find_resources_wait(sdk, EXP_DATA, query, &group)) == 0) {
    printf("group \"samples\" has %lld item(s)\n",
           (long long)exp_results_total(group));
    exp_results_free(group);
  }
  cJSON_Delete(query);

  /* Delete. */
  if (rc == 0 && (rc = exp_resource_delete_wait(item)) == 0)
    printf("deleted\n");
  exp_resource_free(item);
  if (rc != 0)
    return fail(sdk, "data");
  exp_stop(sdk);
  return 0;
}
