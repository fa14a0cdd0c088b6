/* json.c: dotted paths into JSON documents, and exp_json_string. */
#include "json.h"

#include "common.h"
#include "json_scan.h"

int exp_json_parse_error(const char *text, size_t len) {
  return text != NULL && exp_json_check(text, len, CJSON_NESTING_LIMIT, 0,
                                        NULL) == EXP_JSON_OK
             ? EXP_ENOMEM
             : EXP_EPROTOCOL;
}

/* The child of node named by the segment s[0..n), or NULL. */
static cJSON *child(const cJSON *node, const char *s, size_t n) {
  cJSON *c;
  if (cJSON_IsArray(node)) {
    size_t i = 0, k;
    if (n == 0 || n > 9)
      return NULL;
    for (k = 0; k < n; k++) {
      if (s[k] < '0' || s[k] > '9')
        return NULL;
      i = i * 10 + (size_t)(s[k] - '0');
    }
    return cJSON_GetArrayItem(node, (int)i);
  }
  if (!cJSON_IsObject(node))
    return NULL;
  cJSON_ArrayForEach(c, node) {
    if (c->string != NULL && strlen(c->string) == n &&
        memcmp(c->string, s, n) == 0)
      return c;
  }
  return NULL;
}

cJSON *exp_json_path(const cJSON *root, const char *path) {
  const cJSON *node = root;
  const char *s = path;

  if (root == NULL || path == NULL)
    return NULL;
  if (*s == '\0')
    return (cJSON *)root;
  while (node != NULL) {
    const char *dot = strchr(s, '.');
    size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);
    node = child(node, s, n);
    if (dot == NULL)
      break;
    s = dot + 1;
  }
  return (cJSON *)node;
}

/* Puts value (taken over) as the member or element of parent named by
 * s[0..n), which exists when parent is an array. */
static int put(cJSON *parent, const char *s, size_t n, cJSON *value) {
  char *key;
  int ok;

  if (cJSON_IsArray(parent))
    return cJSON_ReplaceItemViaPointer(parent, child(parent, s, n), value)
               ? 0
               : EXP_ENOMEM;
  key = exp_strndup(s, n);
  ok = key != NULL &&
       (child(parent, s, n) != NULL
            ? cJSON_ReplaceItemInObjectCaseSensitive(parent, key, value)
            : cJSON_AddItemToObject(parent, key, value));
  exp_free(key);
  if (!ok)
    cJSON_Delete(value);
  return ok ? 0 : EXP_ENOMEM;
}

/* Length of the segment at s. */
static size_t seg_len(const char *s) {
  const char *dot = strchr(s, '.');
  return dot != NULL ? (size_t)(dot - s) : strlen(s);
}

int exp_json_set_path(cJSON *root, const char *path, cJSON *value) {
  cJSON *node = root, *next;
  const char *s = path, *p;
  size_t n;

  if (value == NULL)
    return EXP_ENOMEM;
  if (!cJSON_IsObject(root) || path == NULL)
    goto refuse;
  for (p = path;; p += n + 1) {
    n = seg_len(p);
    if (n == 0)
      goto refuse;
    if (p[n] == '\0')
      break;
  }
  /* Down the members that exist: the way may be blocked there only. */
  for (;; s += n + 1) {
    n = seg_len(s);
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
      goto refuse;
    if (s[n] == '\0' || (next = child(node, s, n)) == NULL)
      break;
    node = next;
  }
  if (cJSON_IsArray(node) && child(node, s, n) == NULL)
    goto refuse;
  /* Then the objects missing on the way, and the value. */
  for (; s[n] != '\0'; s += n + 1, n = seg_len(s)) {
    int r;
    next = cJSON_CreateObject();
    if (next == NULL || (r = put(node, s, n, next)) != 0) {
      cJSON_Delete(value);
      return EXP_ENOMEM;
    }
    node = next;
  }
  return put(node, s, n, value);
refuse:
  cJSON_Delete(value);
  return EXP_EOPTIONS;
}

cJSON *exp_json_get(const cJSON *json, const char *path) {
  return exp_json_path(json, path);
}

char *exp_json_string(const cJSON *json) {
  /* cJSON allocates with the SDK's allocator (exp_set_allocator). */
  return json != NULL ? cJSON_PrintUnformatted(json) : exp_strdup("null");
}
