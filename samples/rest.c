/*
 * rest.c: raw REST calls: a find with a query, a create, a get, and a
 * delete, printing the JSON answers.  Logs in as a user.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static int fail(exp_sdk *sdk, const char *what, int rc) {
  const exp_error_info *e = exp_last_error(sdk);
  fprintf(stderr, "%s: %s: %s (HTTP %d)\n", what, exp_strerror(rc), e->message,
          e->http_status);
  exp_stop(sdk);
  return 1;
}

static void print(const char *what, const cJSON *json) {
  char *s = cJSON_Print(json);
  printf("%s:\n%s\n", what, s != NULL ? s : "(nothing)");
  free(s);
}

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  cJSON *query, *body, *res;
  char path[160];
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  if ((rc = exp_start_wait(sdk, 10000)) != 0)
    return fail(sdk, "start", rc);

  /* GET /api/devices?limit=2&sort=name */
  query = cJSON_CreateObject();
  cJSON_AddNumberToObject(query, "limit", 2);
  cJSON_AddStringToObject(query, "sort", "name");
  rc = exp_get_wait(sdk, "/api/devices", query, &res);
  cJSON_Delete(query);
  if (rc != 0)
    return fail(sdk, "find devices", rc);
  print("two devices", res);
  cJSON_Delete(res);

  /* POST /api/things {"name": ...}: the answer is the new document. */
  body = cJSON_CreateObject();
  cJSON_AddStringToObject(body, "name", "Sample thing");
  rc = exp_post_wait(sdk, "/api/things", NULL, body, &res);
  cJSON_Delete(body);
  if (rc != 0)
    return fail(sdk, "create thing", rc);
  snprintf(path, sizeof(path), "/api/things/%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(res, "uuid")));
  cJSON_Delete(res);

  if ((rc = exp_get_wait(sdk, path, NULL, &res)) != 0)
    return fail(sdk, "get thing", rc);
  print("the new thing", res);
  cJSON_Delete(res);

  if ((rc = exp_delete_wait(sdk, path, NULL, NULL)) != 0)
    return fail(sdk, "delete thing", rc);
  /* Gone now: a 404 is EXP_ENOTFOUND. */
  rc = exp_get_wait(sdk, path, NULL, NULL);
  printf("after delete: %s (%s)\n", exp_strerror(rc),
         exp_last_error(sdk)->message);
  exp_stop(sdk);
  return 0;
}
