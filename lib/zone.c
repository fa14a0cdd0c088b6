/* zone.c: zones, which live inside their location's document. */
#include "zone.h"

#include "common.h"

static int listed(const cJSON *keys, const char *key) {
  const cJSON *k;
  if (keys == NULL)
    return 1;
  cJSON_ArrayForEach(k, keys) {
    if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
      return 1;
  }
  return 0;
}

int exp_zone_list(exp_resource *location, const cJSON *keys,
                  exp_results **out) {
  const cJSON *zones = cJSON_GetObjectItemCaseSensitive(location->doc, "zones");
  const cJSON *z;
  exp_results *rs;
  size_t n = 0;

  *out = NULL;
  if (zones != NULL && !cJSON_IsNull(zones) && !cJSON_IsArray(zones))
    return exp_resource_fail(location->sdk, EXP_EPROTOCOL,
                             "the location's \"zones\" is not an array");
  cJSON_ArrayForEach(z, zones) {
    const char *key = exp_resource_str(z, "key");
    if (!cJSON_IsObject(z) || key == NULL)
      return exp_resource_fail(location->sdk, EXP_EPROTOCOL,
                               "a zone of the location has no string key");
    n += listed(keys, key);
  }
  rs = exp_results_new(n);
  if (rs == NULL)
    return exp_resource_fail(location->sdk, EXP_ENOMEM, "out of memory");
  cJSON_ArrayForEach(z, zones) {
    const char *key = exp_resource_str(z, "key");
    if (!listed(keys, key))
      continue;
    rs->items[rs->count] = exp_resource_new_zone(location, key);
    if (rs->items[rs->count] == NULL) {
      exp_results_free(rs);
      return exp_resource_fail(location->sdk, EXP_ENOMEM, "out of memory");
    }
    rs->count++;
  }
  rs->total = (int64_t)rs->count;
  *out = rs;
  return 0;
}

void exp_zone_step_location(exp_resource_op *op, int status, cJSON *answer) {
  exp_resource *location;
  exp_results *rs = NULL;
  if (!exp_resource_op_object(op, status, answer, "location"))
    return;
  location = exp_resource_new(op->sdk, EXP_LOCATION, answer);
  if (location == NULL) {
    exp_resource_op_fail(op, EXP_ENOMEM, "out of memory");
    return;
  }
  /* The zones keep the location alive; this reference is not needed. */
  status = exp_zone_list(location, op->keys, &rs);
  exp_resource_free(location);
  exp_resource_op_finish(op, status, rs);
}

int exp_location_zones(exp_resource *location, exp_results **out) {
  int rc;
  if (out == NULL)
    return EXP_EOPTIONS;
  *out = NULL;
  rc = exp_resource_check_kind(location, EXP_KIND_BIT(EXP_LOCATION), "zones");
  return rc != 0 ? rc : exp_zone_list(location, NULL, out);
}

const char *exp_zone_key(const exp_resource *zone) {
  return zone == NULL || zone->kind != EXP_ZONE ? NULL : zone->key;
}

exp_resource *exp_zone_location(const exp_resource *zone) {
  return zone == NULL || zone->kind != EXP_ZONE ? NULL : zone->location;
}
