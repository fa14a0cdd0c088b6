/*
 * content.c: walk the content tree from its root folder and print each
 * item's delivery URL and variants.  Logs in as a user (see README.md).
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

/* Prints item, then its children, depth folders deep. */
static int walk(exp_sdk *sdk, exp_resource *item, int depth) {
  const char *subtype = exp_resource_subtype(item);
  exp_results *children;
  char *url;
  const cJSON *v;

  printf("%*s%s (%s)\n", depth * 2, "", exp_resource_name(item),
         subtype != NULL ? subtype : "?");
  if (subtype != NULL && strcmp(subtype, "scala:content:folder") == 0) {
    if (exp_content_children_wait(item, NULL, &children) != 0)
      return -1;
    for (size_t i = 0; i < exp_results_count(children); i++)
      if (walk(sdk, exp_results_at(children, i), depth + 1) != 0) {
        exp_results_free(children);
        return -1;
      }
    exp_results_free(children);
    return 0;
  }
  url = exp_content_url(item);
  printf("%*s  %s\n", depth * 2, "", url != NULL ? url : "(no URL)");
  exp_free(url);
  cJSON_ArrayForEach(
      v, cJSON_GetObjectItem(exp_resource_document(item), "variants")) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(v, "name"));
    if (name == NULL || !exp_content_has_variant(item, name))
      continue;
    url = exp_content_variant_url(item, name);
    printf("%*s  variant %s: %s\n", depth * 2, "", name,
           url != NULL ? url : "(no URL)");
    exp_free(url);
  }
  return 0;
}

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  exp_resource *root;
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

  /* The root folder of an organization's content has the uuid "root". */
  if (exp_get_resource_wait(sdk, EXP_CONTENT, "root", &root) != 0)
    return fail(sdk, "get the root folder");
  rc = walk(sdk, root, 0);
  exp_resource_free(root);
  if (rc != 0)
    return fail(sdk, "content");
  exp_stop(sdk);
  return 0;
}
