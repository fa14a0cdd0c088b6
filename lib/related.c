/* related.c: the links between resources: a device's or thing's location
 * and zones, a device's experience, the devices and things of an
 * experience, location or zone. */
#include "related.h"
#include "waiter.h"

#include "common.h"
#include "zone.h"

/* The keys of doc's "location.zones", copied: the document may change or
 * go before the location arrives. */
static int zone_keys(exp_sdk *sdk, const cJSON *doc, cJSON **out) {
  const cJSON *location = cJSON_GetObjectItemCaseSensitive(doc, "location");
  const cJSON *z;
  cJSON *keys = cJSON_CreateArray();
  *out = NULL;
  if (keys == NULL)
    return exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
  cJSON_ArrayForEach(z, cJSON_GetObjectItemCaseSensitive(location, "zones")) {
    const char *key = exp_resource_str(z, "key");
    if (key != NULL && !cJSON_AddItemToArray(keys, cJSON_CreateString(key))) {
      cJSON_Delete(keys);
      return exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
    }
  }
  *out = keys;
  return 0;
}

int exp_related_next(exp_resource_op *op, const cJSON *doc) {
  const char *path =
      op->kind == EXP_EXPERIENCE ? "experience.uuid" : "location.uuid";
  const char *uuid = exp_resource_str_at(doc, path);
  int rc;

  if (uuid == NULL || *uuid == '\0')
    return EXP_RELATED_NONE;
  if (op->kind != EXP_ZONE)
    return exp_resource_op_get(op, op->kind, uuid, exp_resource_step_resource);
  if ((rc = zone_keys(op->sdk, doc, &op->keys)) != 0)
    return rc;
  return exp_resource_op_get(op, EXP_LOCATION, uuid, exp_zone_step_location);
}

void exp_related_none(exp_resource_op *op, int status, cJSON *answer) {
  exp_results *none;
  EXP_UNUSED(answer);
  if (status != 0) {
    exp_resource_op_finish(op, status, NULL);
  } else if (op->kind != EXP_ZONE) {
    exp_resource_op_fail(op, EXP_ENOTFOUND, "the document names no %s",
                         op->kind == EXP_EXPERIENCE ? "experience"
                                                    : "location");
  } else if ((none = exp_results_new(0)) == NULL) {
    exp_resource_op_fail(op, EXP_ENOMEM, "out of memory");
  } else {
    exp_resource_op_finish(op, 0, none);
  }
}

/* Starts what exp_related_next does for res's own document; when it names
 * none, the answer is known, but comes from the loop like any other. */
static int follow(exp_resource *res, unsigned kinds, exp_kind target,
                  exp_resource_cb_type cb_type, void (*cb)(void), void *ud) {
  exp_resource_op *op;
  int rc = exp_resource_check_kind(res, kinds,
                                   target == EXP_ZONE       ? "zones"
                                   : target == EXP_LOCATION ? "location"
                                                            : "experience");
  if (rc != 0)
    return rc;
  op = exp_resource_op_new(res->sdk, target, NULL, cb_type, cb, ud);
  if (op == NULL)
    return EXP_ENOMEM;
  rc = exp_related_next(op, res->doc);
  if (rc == EXP_RELATED_NONE)
    rc = exp_resource_op_defer(op, exp_related_none);
  if (rc != 0)
    exp_resource_op_free(op);
  return rc;
}

#define DEVICE_OR_THING (EXP_KIND_BIT(EXP_DEVICE) | EXP_KIND_BIT(EXP_THING))

int exp_resource_location(exp_resource *res, exp_resource_cb cb, void *ud) {
  return follow(res, DEVICE_OR_THING, EXP_LOCATION, EXP_RESOURCE_CB_RESOURCE,
                EXP_RESOURCE_CB(cb), ud);
}

int exp_resource_zones(exp_resource *res, exp_results_cb cb, void *ud) {
  return follow(res, DEVICE_OR_THING, EXP_ZONE, EXP_RESOURCE_CB_RESULTS,
                EXP_RESOURCE_CB(cb), ud);
}

int exp_device_experience(exp_resource *device, exp_resource_cb cb, void *ud) {
  return follow(device, EXP_KIND_BIT(EXP_DEVICE), EXP_EXPERIENCE,
                EXP_RESOURCE_CB_RESOURCE, EXP_RESOURCE_CB(cb), ud);
}

/* A find of kind filtered to res: an experience's uuid, a location's, or a
 * zone's location and key. */
static int members(exp_resource *res, exp_kind kind, unsigned kinds,
                   const cJSON *query, exp_results_cb cb, void *ud) {
  exp_resource_op *op;
  const char *what = kind == EXP_DEVICE ? "devices" : "things";
  int rc = exp_resource_check_kind(res, kinds, what);
  if (rc != 0)
    return rc;
  op = exp_resource_op_new(res->sdk, kind, NULL, EXP_RESOURCE_CB_RESULTS,
                           EXP_RESOURCE_CB(cb), ud);
  if (op == NULL)
    return EXP_ENOMEM;
  switch (res->kind) {
  case EXP_EXPERIENCE:
    rc = exp_resource_op_find(op, kind, query, "experience.uuid",
                              exp_resource_uuid(res), (const char *)NULL);
    break;
  case EXP_ZONE:
    rc = exp_resource_op_find(
        op, kind, query, "location.uuid", exp_resource_uuid(res->location),
        "location.zones.key", res->key, (const char *)NULL);
    break;
  default:
    rc = exp_resource_op_find(op, kind, query, "location.uuid",
                              exp_resource_uuid(res), (const char *)NULL);
    break;
  }
  if (rc != 0)
    exp_resource_op_free(op);
  return rc;
}

int exp_resource_devices(exp_resource *res, const cJSON *query,
                         exp_results_cb cb, void *ud) {
  return members(res, EXP_DEVICE,
                 EXP_KIND_BIT(EXP_EXPERIENCE) | EXP_KIND_BIT(EXP_LOCATION) |
                     EXP_KIND_BIT(EXP_ZONE),
                 query, cb, ud);
}

int exp_resource_things(exp_resource *res, const cJSON *query,
                        exp_results_cb cb, void *ud) {
  return members(res, EXP_THING,
                 EXP_KIND_BIT(EXP_LOCATION) | EXP_KIND_BIT(EXP_ZONE), query, cb,
                 ud);
}

/* ---------------------------------------------------------- blocking */

int exp_resource_location_wait(exp_resource *res, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_location(res, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_resource_zones_wait(exp_resource *res, exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_zones(res, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}

int exp_device_experience_wait(exp_resource *device, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(device)) == 0)
    exp_wait_run(&w, exp_device_experience(device, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_resource_devices_wait(exp_resource *res, const cJSON *query,
                              exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_devices(res, query, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}

int exp_resource_things_wait(exp_resource *res, const cJSON *query,
                             exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_things(res, query, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}
