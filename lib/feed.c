/* feed.c: a feed's data, static or searched (dynamic feeds). */
#include "common.h"
#include "resource.h"
#include "waiter.h"

int exp_feed_data(exp_resource *feed, const cJSON *query, exp_json_cb cb,
                  void *ud) {
  exp_resource_op *op;
  char *path;
  int rc = exp_resource_check_kind(feed, EXP_KIND_BIT(EXP_FEED), "data");
  if (rc != 0)
    return rc;
  if (query != NULL && !cJSON_IsObject(query))
    return exp_resource_fail(feed->sdk, EXP_EOPTIONS,
                             "the query is not a JSON object");
  rc = exp_resource_item_path(feed->sdk, EXP_FEED, exp_resource_uuid(feed),
                              "/data", &path);
  if (rc != 0)
    return rc;
  op = exp_resource_op_new(feed->sdk, EXP_FEED, NULL, EXP_RESOURCE_CB_JSON,
                           EXP_RESOURCE_CB(cb), ud);
  rc = op == NULL ? EXP_ENOMEM
                  : exp_resource_op_send(op, "GET", path, query, NULL,
                                         exp_resource_step_json);
  if (rc != 0 && op != NULL)
    exp_resource_op_free(op);
  exp_free(path);
  return rc;
}

int exp_feed_data_wait(exp_resource *feed, const cJSON *query, cJSON **result) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(feed)) == 0)
    exp_wait_run(&w, exp_feed_data(feed, query, exp_wait_json_cb, &w));
  return exp_wait_json(&w, result);
}
