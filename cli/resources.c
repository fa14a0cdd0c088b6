/* resources.c: exp find, show, create, save, rm and url. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *plural, *singular;
  exp_kind kind;
} kinds[] = {
    {"devices", "device", EXP_DEVICE},
    {"things", "thing", EXP_THING},
    {"experiences", "experience", EXP_EXPERIENCE},
    {"locations", "location", EXP_LOCATION},
    {"feeds", "feed", EXP_FEED},
    {"content", "content", EXP_CONTENT},
    {"data", "data", EXP_DATA},
};

static int parse_kind(const cli_args *a, exp_kind *kind) {
  if (a->npos < 1)
    return cli_usage(a, "KIND is missing");
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (strcmp(a->pos[0], kinds[i].plural) == 0 ||
        strcmp(a->pos[0], kinds[i].singular) == 0) {
      *kind = kinds[i].kind;
      return 0;
    }
  return cli_usage(a,
                   "unknown KIND \"%s\": devices, things, experiences, "
                   "locations, feeds, content or data",
                   a->pos[0]);
}

/* KIND and UUID (GROUP/KEY for data), and exactly extra arguments more. */
typedef struct target {
  exp_kind kind;
  const char *uuid;
  char *group, *key; /* data: malloc'd */
} target;

static int parse_target(const cli_args *a, int extra, target *t) {
  const char *slash;
  int rc = parse_kind(a, &t->kind);

  t->uuid = NULL;
  t->group = t->key = NULL;
  if (rc != 0)
    return rc;
  if (a->npos < 2)
    return cli_usage(a, t->kind == EXP_DATA ? "GROUP/KEY is missing"
                                            : "UUID is missing");
  if (a->npos < 2 + extra)
    return cli_usage(a, "JSON is missing");
  if (a->npos > 2 + extra)
    return cli_usage(a, "too many arguments");
  t->uuid = a->pos[1];
  if (t->kind != EXP_DATA)
    return 0;
  slash = strchr(t->uuid, '/');
  t->group = strdup(slash != NULL ? t->uuid : "default");
  t->key = strdup(slash != NULL ? slash + 1 : t->uuid);
  if (t->group == NULL || t->key == NULL)
    return cli_usage(a, "out of memory");
  if (slash != NULL)
    t->group[slash - t->uuid] = '\0';
  if (*t->group == '\0' || *t->key == '\0')
    return cli_usage(a, "\"%s\" is not GROUP/KEY", t->uuid);
  return 0;
}

static void target_free(target *t) {
  free(t->group);
  free(t->key);
}

static int get_target(exp_sdk *sdk, const target *t, exp_resource **out) {
  if (t->kind == EXP_DATA)
    return exp_get_data_wait(sdk, t->group, t->key, out);
  return exp_get_resource_wait(sdk, t->kind, t->uuid, out);
}

int cmd_find(const cli_args *a) {
  exp_kind kind;
  cJSON *query = NULL;
  exp_results *rs = NULL;
  exp_sdk *sdk;
  int status = parse_kind(a, &kind), rc;

  for (int i = 1; i < a->npos && status == CLI_OK; i++) {
    rc = cli_query_arg(&query, a->pos[i]);
    if (rc <= 0)
      status = cli_usage(
          a, rc < 0 ? "out of memory" : "\"%s\" is not NAME=VALUE", a->pos[i]);
  }
  if (status != CLI_OK) {
    cJSON_Delete(query);
    return status;
  }
  sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL) {
    rc = exp_find_resources_wait(sdk, kind, query, &rs);
    if (rc != 0)
      status = cli_fail(sdk, "find", rc);
    for (size_t i = 0; rc == 0 && i < exp_results_count(rs) && !status; i++)
      status = cli_print(a, exp_resource_document(exp_results_at(rs, i)));
    exp_results_free(rs);
    exp_stop(sdk);
  }
  cJSON_Delete(query);
  return status;
}

int cmd_show(const cli_args *a) {
  target t;
  exp_resource *res = NULL;
  exp_sdk *sdk = NULL;
  int status = parse_target(a, 0, &t), rc;

  if (status == CLI_OK)
    sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL) {
    rc = get_target(sdk, &t, &res);
    status = rc != 0 ? cli_fail(sdk, "show", rc)
                     : cli_print(a, exp_resource_document(res));
    exp_resource_free(res);
    exp_stop(sdk);
  }
  target_free(&t);
  return status;
}

int cmd_create(const cli_args *a) {
  target t = {0};
  cJSON *doc = NULL;
  exp_resource *res = NULL;
  exp_sdk *sdk = NULL;
  int status, rc;

  /* exp create KIND JSON, but exp create data GROUP/KEY JSON. */
  status = parse_kind(a, &t.kind);
  if (status == CLI_OK && t.kind == EXP_DATA)
    status = parse_target(a, 1, &t);
  else if (status == CLI_OK && a->npos != 2)
    status =
        cli_usage(a, a->npos < 2 ? "JSON is missing" : "too many arguments");
  if (status == CLI_OK &&
      (doc = cli_json_arg(a, a->pos[a->npos - 1], "the document")) == NULL)
    status = CLI_USAGE;
  if (status == CLI_OK)
    sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL) {
    rc = t.kind == EXP_DATA
             ? exp_create_data_wait(sdk, t.group, t.key, doc, &res)
             : exp_create_resource_wait(sdk, t.kind, doc, &res);
    status = rc != 0 ? cli_fail(sdk, "create", rc)
                     : cli_print(a, exp_resource_document(res));
    exp_resource_free(res);
    exp_stop(sdk);
  }
  cJSON_Delete(doc);
  target_free(&t);
  return status;
}

/* RFC 7386 on an object target: 0, or -1 when out of memory. */
static int merge_patch(cJSON *target, const cJSON *patch) {
  const cJSON *p;

  cJSON_ArrayForEach(p, patch) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
    cJSON *v;

    if (cJSON_IsNull(p)) {
      cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
      continue;
    }
    if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
      if (merge_patch(t, p) != 0)
        return -1;
      continue;
    }
    /* A new object member merges into nothing: its nulls go. */
    v = cJSON_IsObject(p) ? cJSON_CreateObject() : cJSON_Duplicate(p, 1);
    if (v == NULL || (cJSON_IsObject(p) && merge_patch(v, p) != 0)) {
      cJSON_Delete(v);
      return -1;
    }
    if (t != NULL)
      cJSON_ReplaceItemViaPointer(target, t, v);
    else if (!cJSON_AddItemToObject(target, p->string, v)) {
      cJSON_Delete(v);
      return -1;
    }
  }
  return 0;
}

int cmd_save(const cli_args *a) {
  target t;
  cJSON *patch = NULL;
  exp_resource *res = NULL;
  exp_sdk *sdk = NULL;
  int status = parse_target(a, 1, &t), rc;

  if (status == CLI_OK &&
      (patch = cli_json_arg(a, a->pos[2], "the patch")) == NULL)
    status = CLI_USAGE;
  if (status == CLI_OK && !cJSON_IsObject(patch))
    status = cli_usage(a, "the patch must be a JSON object");
  if (status == CLI_OK)
    sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL) {
    rc = get_target(sdk, &t, &res);
    if (rc == 0) {
      cJSON *doc =
          t.kind == EXP_DATA ? exp_data_value(res) : exp_resource_document(res);

      if (!cJSON_IsObject(doc))
        rc = EXP_EPROTOCOL;
      else if (merge_patch(doc, patch) != 0)
        rc = EXP_ENOMEM;
    }
    if (rc == 0)
      rc = exp_resource_save_wait(res);
    status = rc != 0 ? cli_fail(sdk, "save", rc)
                     : cli_print(a, exp_resource_document(res));
    exp_resource_free(res);
    exp_stop(sdk);
  }
  cJSON_Delete(patch);
  target_free(&t);
  return status;
}

int cmd_rm(const cli_args *a) {
  target t;
  exp_resource *res = NULL;
  exp_sdk *sdk = NULL;
  int status = parse_target(a, 0, &t), rc;

  if (status == CLI_OK)
    sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL) {
    rc = get_target(sdk, &t, &res);
    if (rc == 0)
      rc = exp_resource_delete_wait(res);
    if (rc != 0)
      status = cli_fail(sdk, "rm", rc);
    exp_resource_free(res);
    exp_stop(sdk);
  }
  target_free(&t);
  return status;
}

int cmd_url(const cli_args *a) {
  exp_resource *content = NULL;
  exp_sdk *sdk;
  char *url = NULL;
  int status, rc;

  if (a->npos != 1)
    return cli_usage(a, a->npos < 1 ? "CONTENT-UUID is missing"
                                    : "too many arguments");
  sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk == NULL)
    return status;
  rc = exp_get_resource_wait(sdk, EXP_CONTENT, a->pos[0], &content);
  if (rc != 0) {
    status = cli_fail(sdk, "url", rc);
  } else if (a->variant != NULL &&
             !exp_content_has_variant(content, a->variant)) {
    fprintf(stderr, "exp url: %s has no variant \"%s\"\n", a->pos[0],
            a->variant);
    status = CLI_REFUSED;
  } else {
    url = a->variant != NULL ? exp_content_variant_url(content, a->variant)
                             : exp_content_url(content);
    if (url == NULL)
      status = cli_fail(sdk, "url", exp_last_error(sdk)->code);
    else
      printf("%s\n", url);
  }
  exp_free(url);
  exp_resource_free(content);
  exp_stop(sdk);
  return status;
}
