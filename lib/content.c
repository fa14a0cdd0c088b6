/* content.c: content items: children, delivery URLs and variants, and a
 * location's layout URL, which is built the same way. */
#include <stdio.h>

#include "common.h"
#include "resource.h"
#include "waiter.h"
#include "session.h"
#include "url.h"

int exp_content_children(exp_resource *content, const cJSON *query,
                         exp_results_cb cb, void *ud) {
  exp_resource_op *op;
  int rc =
      exp_resource_check_kind(content, EXP_KIND_BIT(EXP_CONTENT), "children");
  if (rc != 0)
    return rc;
  op = exp_resource_op_new(content->sdk, EXP_CONTENT, NULL,
                           EXP_RESOURCE_CB_RESULTS, EXP_RESOURCE_CB(cb), ud);
  if (op == NULL)
    return EXP_ENOMEM;
  rc = exp_resource_op_find(op, EXP_CONTENT, query, "parent",
                            exp_resource_uuid(content), (const char *)NULL);
  if (rc != 0)
    exp_resource_op_free(op);
  return rc;
}

int exp_content_children_wait(exp_resource *content, const cJSON *query,
                              exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(content)) == 0)
    exp_wait_run(&w,
                 exp_content_children(content, query, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}

/* Builds "{api host}{prefix}{path}{suffix}?_rt={restricted token}{extra}",
 * path already encoded, extra a query part ("&variant=...") or "". */
static char *signed_url(exp_sdk *sdk, const char *prefix, const char *path,
                        const char *suffix, const char *extra) {
  const cJSON *auth = exp_auth(sdk);
  const char *host, *rt;
  char *rt_enc, *url;
  size_t host_len, n, host_index;

  if (auth == NULL) {
    exp_resource_fail(sdk, EXP_ERUNTIME, "the SDK has not logged in");
    return NULL;
  }
  rt = exp_resource_str(auth, "restrictedToken");
  if (rt == NULL) {
    exp_resource_fail(sdk, EXP_EPROTOCOL,
                      "the auth payload has no restrictedToken");
    return NULL;
  }
  /* The origin REST calls go to now. */
  host = exp_sdk_api_origin(sdk, &host_index);
  host_len = strlen(host);
  while (host_len > 0 && host[host_len - 1] == '/')
    host_len--;
  rt_enc = exp_url_encode_component(rt);
  if (rt_enc == NULL) {
    exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
    return NULL;
  }
  n = host_len + strlen(prefix) + strlen(path) + strlen(suffix) +
      strlen(rt_enc) + strlen(extra) + sizeof("?_rt=");
  url = exp_malloc(n);
  if (url == NULL)
    exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
  else
    snprintf(url, n, "%.*s%s%s%s?_rt=%s%s", (int)host_len, host, prefix, path,
             suffix, rt_enc, extra);
  exp_free(rt_enc);
  return url;
}

/* The delivery URL of the content's path, with suffix after the path. */
static char *delivery_url(const exp_resource *content, const char *suffix,
                          const char *extra) {
  const char *path = exp_resource_str(content->doc, "path");
  char *trimmed, *enc, *url;
  size_t len;

  if (path == NULL) {
    exp_resource_fail(content->sdk, EXP_EOPTIONS, "the content has no path");
    return NULL;
  }
  /* One slash between "/api/delivery" and the path, and none between the
   * path and a suffix. */
  while (*path == '/')
    path++;
  len = strlen(path);
  while (*suffix != '\0' && len > 0 && path[len - 1] == '/')
    len--;
  trimmed = exp_strndup(path, len);
  enc = trimmed == NULL ? NULL : exp_url_encode_path(trimmed);
  exp_free(trimmed);
  if (enc == NULL) {
    exp_resource_fail(content->sdk, EXP_ENOMEM, "out of memory");
    return NULL;
  }
  url = signed_url(content->sdk, "/api/delivery/", enc, suffix, extra);
  exp_free(enc);
  return url;
}

static int is_subtype(const exp_resource *content, const char *subtype) {
  const char *s = exp_resource_str(content->doc, "subtype");
  return s != NULL && strcmp(s, subtype) == 0;
}

char *exp_content_url(const exp_resource *content) {
  char *url;
  if (exp_resource_check_kind(content, EXP_KIND_BIT(EXP_CONTENT), "URL") != 0)
    return NULL;
  if (is_subtype(content, "scala:content:url")) {
    const char *u = exp_resource_str(content->doc, "url");
    if (u == NULL) {
      exp_resource_fail(content->sdk, EXP_EOPTIONS,
                        "the url item has no \"url\"");
      return NULL;
    }
    url = exp_strdup(u);
    if (url == NULL)
      exp_resource_fail(content->sdk, EXP_ENOMEM, "out of memory");
    return url;
  }
  return delivery_url(
      content, is_subtype(content, "scala:content:app") ? "/index.html" : "",
      "");
}

char *exp_content_variant_url(const exp_resource *content, const char *name) {
  char *enc, *extra, *url = NULL;
  size_t n;
  if (exp_resource_check_kind(content, EXP_KIND_BIT(EXP_CONTENT), "variants"))
    return NULL;
  if (name == NULL || *name == '\0') {
    exp_resource_fail(content->sdk, EXP_EOPTIONS, "no variant name");
    return NULL;
  }
  if (is_subtype(content, "scala:content:url") ||
      is_subtype(content, "scala:content:app") ||
      is_subtype(content, "scala:content:folder")) {
    exp_resource_fail(content->sdk, EXP_EOPTIONS, "only files have variants");
    return NULL;
  }
  enc = exp_url_encode_component(name);
  n = enc == NULL ? 0 : strlen(enc) + sizeof("&variant=");
  extra = n == 0 ? NULL : exp_malloc(n);
  if (extra != NULL) {
    snprintf(extra, n, "&variant=%s", enc);
    url = delivery_url(content, "", extra);
  } else {
    exp_resource_fail(content->sdk, EXP_ENOMEM, "out of memory");
  }
  exp_free(enc);
  exp_free(extra);
  return url;
}

int exp_content_has_variant(const exp_resource *content, const char *name) {
  const cJSON *v;
  if (content == NULL || content->kind != EXP_CONTENT || name == NULL)
    return 0;
  cJSON_ArrayForEach(
      v, cJSON_GetObjectItemCaseSensitive(content->doc, "variants")) {
    const char *n = exp_resource_str(v, "name");
    if (n != NULL && strcmp(n, name) == 0)
      return 1;
  }
  return 0;
}

char *exp_location_layout_url(const exp_resource *location) {
  const char *uuid;
  char *enc, *url;
  if (exp_resource_check_kind(location, EXP_KIND_BIT(EXP_LOCATION), "layout"))
    return NULL;
  uuid = exp_resource_uuid(location);
  if (uuid == NULL || *uuid == '\0') {
    exp_resource_fail(location->sdk, EXP_EOPTIONS, "the location has no uuid");
    return NULL;
  }
  enc = exp_url_encode_component(uuid);
  if (enc == NULL) {
    exp_resource_fail(location->sdk, EXP_ENOMEM, "out of memory");
    return NULL;
  }
  url = signed_url(location->sdk, "/api/locations/", enc, "/layout", "");
  exp_free(enc);
  return url;
}
