/* rest.c: exp login, the raw REST calls, and exp pair. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_login(const cli_args *a) {
  exp_sdk *sdk;
  int status;

  if (a->npos > 0)
    return cli_usage(a, "takes no arguments");
  sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk == NULL)
    return status;
  status = cli_print(a, exp_json_get(exp_auth(sdk), "identity"));
  exp_stop(sdk);
  return status;
}

int cmd_rest(const cli_args *a) {
  char method[8], *path;
  cJSON *query = NULL, *body = NULL, *result = NULL;
  exp_sdk *sdk = NULL;
  int status = CLI_OK, rc;
  size_t i;

  for (i = 0; a->command[i] != '\0' && i < sizeof(method) - 1; i++)
    method[i] = (char)toupper((unsigned char)a->command[i]);
  method[i] = '\0';
  if (a->npos < 1)
    return cli_usage(a, "PATH is missing");
  for (int k = 1; k < a->npos && status == CLI_OK; k++) {
    rc = cli_query_arg(&query, a->pos[k]);
    if (rc < 0)
      status = cli_usage(a, "out of memory");
    else if (rc == 0 && strcmp(method, "GET") == 0)
      status = cli_usage(a, "GET takes no body: \"%s\" is not NAME=VALUE",
                         a->pos[k]);
    else if (rc == 0 && body != NULL)
      status =
          cli_usage(a, "one body only: \"%s\" is not NAME=VALUE", a->pos[k]);
    else if (rc == 0 && (body = cli_json_arg(a, a->pos[k], "the body")) == NULL)
      status = CLI_USAGE;
  }
  path = malloc(strlen(a->pos[0]) + 6);
  if (status == CLI_OK && path == NULL)
    status = cli_usage(a, "out of memory");
  if (status == CLI_OK) {
    /* "devices" is /api/devices. */
    sprintf(path, "%s%s", a->pos[0][0] == '/' ? "" : "/api/", a->pos[0]);
    sdk = cli_connect(a, NULL, CLI_REST, &status);
  }
  if (sdk != NULL) {
    exp_call call = {method, path, query, body, 0};

    rc = exp_request_wait(sdk, &call, &result);
    if (rc != 0)
      status = cli_fail(sdk, a->command, rc);
    else if (result != NULL)
      status = cli_print(a, result);
    exp_stop(sdk);
  }
  cJSON_Delete(result);
  cJSON_Delete(query);
  cJSON_Delete(body);
  free(path);
  return status;
}

int cmd_pair(const cli_args *a) {
  cJSON *device = NULL;
  exp_sdk *sdk;
  int status, rc;

  if (a->npos < 1 || a->npos > 2)
    return cli_usage(a, a->npos < 1 ? "CODE is missing" : "too many arguments");
  sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk == NULL)
    return status;
  rc = exp_pair_device_wait(sdk, a->pos[0], a->npos == 2 ? a->pos[1] : NULL,
                            &device);
  if (rc != 0) {
    status = cli_fail(sdk, "pair", rc);
  } else {
    /* The secret is the device's alone. */
    cJSON_DeleteItemFromObject(device, "secret");
    status = cli_print(a, device);
  }
  cJSON_Delete(device);
  exp_stop(sdk);
  return status;
}
