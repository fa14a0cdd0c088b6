/*
 * feeds.c: list the feeds and print each one's data; a dynamic feed is
 * searched for EXP_SEARCH (default 19713).  Logs in as a user (see
 * README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  exp_results *feeds;
  cJSON *search;
  int rc = 0;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  if (exp_start_wait(sdk, 10000) != 0)
    return fail(sdk, "start");

  if (exp_find_resources_wait(sdk, EXP_FEED, NULL, &feeds) != 0)
    return fail(sdk, "find feeds");
  search = cJSON_CreateObject();
  cJSON_AddStringToObject(search, "searchValue", env("EXP_SEARCH", "19713"));
  for (size_t i = 0; rc == 0 && i < exp_results_count(feeds); i++) {
    exp_resource *feed = exp_results_at(feeds, i);
    const char *type = cJSON_GetStringValue(exp_resource_get(feed, "dataType"));
    int dynamic = type != NULL && strcmp(type, "dynamic") == 0;
    cJSON *data;
    char *text;

    rc = exp_feed_data_wait(feed, dynamic ? search : NULL, &data);
    if (rc != 0)
      break;
    text = cJSON_Print(data);
    printf("%s (%s):\n%s\n", exp_resource_name(feed),
           dynamic ? "dynamic" : "static", text != NULL ? text : "?");
    cJSON_free(text);
    cJSON_Delete(data);
  }
  cJSON_Delete(search);
  exp_results_free(feeds);
  if (rc != 0)
    return fail(sdk, "feed data");
  exp_stop(sdk);
  return 0;
}
