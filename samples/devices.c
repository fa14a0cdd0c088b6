/*
 * devices.c: find devices, create one, get it, change and save its
 * document, then delete it.  Logs in as a user (see README.md).
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

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  exp_results *found;
  exp_resource *device, *again;
  cJSON *query, *doc;
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

  /* Find: the players, by name order. */
  query = cJSON_CreateObject();
  cJSON_AddStringToObject(query, "subtype", "scala:device:player");
  cJSON_AddStringToObject(query, "sort", "name");
  rc = exp_find_resources_wait(sdk, EXP_DEVICE, query, &found);
  cJSON_Delete(query);
  if (rc != 0)
    return fail(sdk, "find devices");
  printf("%lld players\n", (long long)exp_results_total(found));
  for (size_t i = 0; i < exp_results_count(found); i++) {
    exp_resource *d = exp_results_at(found, i);
    printf("  %s  %s\n", exp_resource_uuid(d), exp_resource_name(d));
  }
  exp_results_free(found);

  /* Create: the answer is the new device, with the secret it logs in
   * with (store it somewhere safe; it is not shown again). */
  doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "name", "Lobby screen");
  cJSON_AddStringToObject(doc, "subtype", "scala:device:player");
  rc = exp_create_resource_wait(sdk, EXP_DEVICE, doc, &device);
  cJSON_Delete(doc);
  if (rc != 0)
    return fail(sdk, "create device");
  printf("created %s\n", exp_resource_uuid(device));

  /* Get it by uuid, change its document and save it: the server's answer
   * becomes the document. */
  if (exp_get_resource_wait(sdk, EXP_DEVICE, exp_resource_uuid(device),
                            &again) != 0) {
    exp_resource_free(device);
    return fail(sdk, "get device");
  }
  exp_resource_set_name(again, "Lobby screen (left)");
  /* Replaces the field, or adds it: never a duplicate key. */
  exp_resource_set(again, "volume", cJSON_CreateNumber(30));
  rc = exp_resource_save_wait(again);
  if (rc == 0)
    printf("saved: %s, volume %g\n", exp_resource_name(again),
           cJSON_GetNumberValue(exp_resource_get(again, "volume")));
  exp_resource_free(again);
  if (rc != 0) {
    exp_resource_free(device);
    return fail(sdk, "save device");
  }

  /* Delete it; getting it again is then "not found". */
  rc = exp_resource_delete_wait(device);
  if (rc == 0) {
    rc = exp_get_resource_wait(sdk, EXP_DEVICE, exp_resource_uuid(device),
                               &again);
    printf("deleted: get says %s\n", exp_err_name(rc));
    exp_resource_free(again);
    rc = rc == EXP_ENOTFOUND ? 0 : rc;
  }
  exp_resource_free(device);
  if (rc != 0)
    return fail(sdk, "delete device");
  exp_stop(sdk);
  return 0;
}
