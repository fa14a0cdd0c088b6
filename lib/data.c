/* data.c: data items, {group, key, value} documents addressed by group and
 * key; create and save are a PUT of the bare value. */
#include "common.h"
#include "resource.h"
#include "waiter.h"

static int start(exp_sdk *sdk, const char *method, const char *group,
                 const char *key, const cJSON *value, exp_resource_cb cb,
                 void *ud) {
  exp_resource_op *op;
  char *path;
  int rc;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (value != NULL && !cJSON_IsObject(value))
    return exp_resource_fail(sdk, EXP_EOPTIONS,
                             "a data value must be a JSON object");
  rc = exp_resource_data_path(sdk, group == NULL ? "default" : group, key,
                              &path);
  if (rc != 0)
    return rc;
  op = exp_resource_op_new(sdk, EXP_DATA, NULL, EXP_RESOURCE_CB_RESOURCE,
                           EXP_RESOURCE_CB(cb), ud);
  rc = op == NULL ? EXP_ENOMEM
                  : exp_resource_op_send(op, method, path, NULL, value,
                                         exp_resource_step_resource);
  if (rc != 0 && op != NULL)
    exp_resource_op_free(op);
  exp_free(path);
  return rc;
}

int exp_get_data(exp_sdk *sdk, const char *group, const char *key,
                 exp_resource_cb cb, void *ud) {
  return start(sdk, "GET", group, key, NULL, cb, ud);
}

int exp_create_data(exp_sdk *sdk, const char *group, const char *key,
                    const cJSON *value, exp_resource_cb cb, void *ud) {
  if (sdk != NULL && value == NULL)
    return exp_resource_fail(sdk, EXP_EOPTIONS, "no data value");
  return start(sdk, "PUT", group, key, value, cb, ud);
}

int exp_get_data_wait(exp_sdk *sdk, const char *group, const char *key,
                      exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_get_data(sdk, group, key, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_create_data_wait(exp_sdk *sdk, const char *group, const char *key,
                         const cJSON *value, exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(
        &w, exp_create_data(sdk, group, key, value, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

static const cJSON *doc_of(const exp_resource *data) {
  return data == NULL || data->kind != EXP_DATA ? NULL : data->doc;
}

const char *exp_data_group(const exp_resource *data) {
  return exp_resource_str(doc_of(data), "group");
}

const char *exp_data_key(const exp_resource *data) {
  return exp_resource_str(doc_of(data), "key");
}

cJSON *exp_data_value(const exp_resource *data) {
  return cJSON_GetObjectItemCaseSensitive(doc_of(data), "value");
}

int exp_data_set_value(exp_resource *data, const cJSON *value) {
  int rc = exp_resource_check_kind(data, EXP_KIND_BIT(EXP_DATA), "value");
  if (rc != 0)
    return rc;
  if (!cJSON_IsObject(value))
    return exp_resource_fail(data->sdk, EXP_EOPTIONS,
                             "a data value must be a JSON object");
  return exp_resource_set_member(data->sdk, data->doc, "value",
                                 cJSON_Duplicate(value, 1));
}
