/* current.c: the device the SDK is logged in as, and its experience,
 * location and zones. */
#include "common.h"
#include "related.h"
#include "waiter.h"

/* The uuid of the device logged in as, from the auth payload. */
static int current_uuid(exp_sdk *sdk, const char **uuid) {
  const cJSON *auth, *identity;
  const char *type;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  auth = exp_auth(sdk);
  if (auth == NULL)
    return exp_resource_fail(sdk, EXP_ERUNTIME, "the SDK has not logged in");
  identity = cJSON_GetObjectItemCaseSensitive(auth, "identity");
  type = exp_resource_str(identity, "type");
  *uuid = exp_resource_str(identity, "uuid");
  if (type == NULL || strcmp(type, "device") != 0)
    return exp_resource_fail(sdk, EXP_ENOTFOUND,
                             "the SDK is not logged in as a device");
  if (*uuid == NULL || **uuid == '\0')
    return exp_resource_fail(sdk, EXP_EPROTOCOL,
                             "the auth payload's identity has no uuid");
  return 0;
}

/* The current device's document arrived: go on to what it links to. */
static void on_device(exp_resource_op *op, int status, cJSON *answer) {
  if (!exp_resource_op_object(op, status, answer, "device"))
    return;
  status = exp_related_next(op, answer);
  cJSON_Delete(answer);
  if (status == EXP_RELATED_NONE)
    exp_related_none(op, 0, NULL);
  else if (status != 0)
    exp_resource_op_finish(op, status, NULL);
}

static int get_device(exp_resource_op *op, const char *uuid) {
  return exp_resource_op_get(op, EXP_DEVICE, uuid,
                             op->kind == EXP_DEVICE ? exp_resource_step_resource
                                                    : on_device);
}

/* The login was not a device's when the call was made: report that from
 * the loop, or, when a login since made it one, go on. */
static void on_identity(exp_resource_op *op, int status, cJSON *answer) {
  const char *uuid = NULL;
  EXP_UNUSED(answer);
  if (status == 0)
    status = current_uuid(op->sdk, &uuid);
  if (status == 0)
    status = get_device(op, uuid);
  if (status != 0)
    exp_resource_op_finish(op, status, NULL);
}

static int start(exp_sdk *sdk, exp_kind target, exp_resource_cb_type cb_type,
                 void (*cb)(void), void *ud) {
  exp_resource_op *op;
  const char *uuid = NULL;
  int rc = current_uuid(sdk, &uuid);
  /* Before the first login there is nothing to ask; an identity that is no
   * device's is an answer, which comes through the callback. */
  if (rc == EXP_EOPTIONS || rc == EXP_ERUNTIME)
    return rc;
  op = exp_resource_op_new(sdk, target, NULL, cb_type, cb, ud);
  if (op == NULL)
    return EXP_ENOMEM;
  rc = rc == 0 ? get_device(op, uuid) : exp_resource_op_defer(op, on_identity);
  if (rc != 0)
    exp_resource_op_free(op);
  return rc;
}

int exp_current_device(exp_sdk *sdk, exp_resource_cb cb, void *ud) {
  return start(sdk, EXP_DEVICE, EXP_RESOURCE_CB_RESOURCE, EXP_RESOURCE_CB(cb),
               ud);
}

int exp_current_experience(exp_sdk *sdk, exp_resource_cb cb, void *ud) {
  return start(sdk, EXP_EXPERIENCE, EXP_RESOURCE_CB_RESOURCE,
               EXP_RESOURCE_CB(cb), ud);
}

int exp_current_location(exp_sdk *sdk, exp_resource_cb cb, void *ud) {
  return start(sdk, EXP_LOCATION, EXP_RESOURCE_CB_RESOURCE, EXP_RESOURCE_CB(cb),
               ud);
}

int exp_current_zones(exp_sdk *sdk, exp_results_cb cb, void *ud) {
  return start(sdk, EXP_ZONE, EXP_RESOURCE_CB_RESULTS, EXP_RESOURCE_CB(cb), ud);
}

int exp_current_device_wait(exp_sdk *sdk, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_current_device(sdk, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_current_experience_wait(exp_sdk *sdk, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_current_experience(sdk, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_current_location_wait(exp_sdk *sdk, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_current_location(sdk, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_current_zones_wait(exp_sdk *sdk, exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_current_zones(sdk, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}
