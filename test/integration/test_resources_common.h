/* test_resources_common.h: what the resource integration tests share:
 * logging in to a server on the SDK's private loop, and fetching an
 * absolute URL with the SDK's HTTP client. */
#ifndef EXP_TEST_RESOURCES_COMMON_H
#define EXP_TEST_RESOURCES_COMMON_H

#include <stddef.h>

#include "exp.h"

/* Started handles on a private loop, network off; NULL (and a message on
 * stderr) when the login fails. */
exp_sdk *rt_user(const char *origin);
exp_sdk *rt_device(const char *origin, const char *uuid, const char *secret);
exp_sdk *rt_consumer(const char *origin, const char *uuid, const char *api_key);

/* The same options on a handle of loop, not started. */
exp_sdk *rt_user_on(uv_loop_t *loop, const char *origin);

/* A GET of url: 0 with the status and body (malloc'd, NUL-terminated) and
 * content type (malloc'd, or NULL), or an exp_errno. */
int rt_fetch(const char *url, int *status, char **body, size_t *len,
             char **content_type);

/* The restricted token of sdk's auth payload. */
const char *rt_restricted_token(exp_sdk *sdk);

/* Parses s (a test's own JSON); never NULL. */
cJSON *rt_json(const char *s);

#endif
