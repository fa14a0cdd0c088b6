/*
 * heap.c: the heap a queued broadcast costs, against its bytes on the wire
 * (issue 8 item 3).  Not a test: it prints figures.
 *
 * A user SDK broadcasts over REST (network off) and a device SDK holds the
 * broadcasts in queue listeners without taking them.  The heap is what the
 * SDK, cJSON and libuv hold through exp_set_allocator (test/bench/
 * count_alloc.h), measured once the listeners are ready and again once
 * every broadcast is queued: the difference is what the queues hold.
 *
 * Usage: soak_heap NODE test/server/main.js SHAPE BYTES COUNT LISTENERS
 *   SHAPE: objects (an array of small objects, cJSON's worst) or string
 *   e.g. soak_heap node main.js objects 4096 100 1
 *        soak_heap node main.js objects 15728640 4 1
 *        soak_heap node main.js objects 15728640 1 10
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "count_alloc.h"
#include "exp.h"
#include "refserver.h"

static void die(const char *what, exp_sdk *sdk) {
  fprintf(stderr, "soak_heap: %s: %s\n", what,
          sdk != NULL ? exp_last_error(sdk)->message : "");
  exit(1);
}

/* A payload of about bytes of JSON text. */
static cJSON *make_payload(const char *shape, size_t bytes) {
  if (strcmp(shape, "string") == 0) {
    char *s = malloc(bytes + 1);
    cJSON *p;
    memset(s, 'x', bytes);
    s[bytes > 2 ? bytes - 2 : 0] = '\0';
    p = cJSON_CreateString(s);
    free(s);
    return p;
  }
  cJSON *a = cJSON_CreateArray();
  size_t n = 0;
  for (int i = 0; n + 2 < bytes; i++) {
    cJSON *o = cJSON_CreateObject();
    char num[16];
    cJSON_AddNumberToObject(o, "i", i % 1000);
    cJSON_AddStringToObject(o, "s", "ab");
    cJSON_AddBoolToObject(o, "b", 1);
    cJSON_AddItemToArray(a, o);
    snprintf(num, sizeof(num), "%d", i % 1000);
    n += strlen("{\"i\":,\"s\":\"ab\",\"b\":true},") + strlen(num);
  }
  return a;
}

static void on_listen(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  exp_listener **out = ud;
  if (status != 0)
    die("listen", sdk);
  *out = l;
}

int main(int argc, char **argv) {
  static const char *extra[] = {NULL};
  refserver srv;
  exp_sdk *dev, *user;
  exp_channel *ch, *uch;
  exp_listener *ls[64] = {NULL};
  cJSON *payload;
  char *text;
  size_t bytes, wire, count, n;
  long before, after;

  if (argc < 7) {
    fprintf(stderr, "usage: %s NODE MAIN_JS SHAPE BYTES COUNT LISTENERS\n",
            argv[0]);
    return 2;
  }
  exp_set_allocator(count_malloc, count_realloc, count_calloc, count_free);
  bytes = strtoul(argv[4], NULL, 10);
  count = strtoul(argv[5], NULL, 10);
  n = strtoul(argv[6], NULL, 10);
  if (n < 1 || n > 64)
    n = 1;
  if (refserver_start(&srv, argv[1], argv[2], extra) != 0)
    die("the server did not start", NULL);

  dev = exp_new(NULL);
  user = exp_new(NULL);
  refserver_credentials(dev, DEVICE);
  refserver_credentials(user, USER);
  exp_set_str(dev, EXP_OPT_HOST, srv.origin);
  exp_set_str(user, EXP_OPT_HOST, srv.origin);
  exp_set_int(user, EXP_OPT_ENABLE_NETWORK, 0);
  exp_set_log(dev, EXP_LOG_WARN, NULL, NULL);
  exp_set_log(user, EXP_LOG_WARN, NULL, NULL);
  if (exp_start_wait(dev, 10000) != 0)
    die("device start", dev);
  if (exp_start_wait(user, 10000) != 0)
    die("user start", user);
  ch = exp_get_channel(dev, "heap", 0);
  uch = exp_get_channel(user, "heap", 0);
  if (ch == NULL || uch == NULL)
    die("channel", dev);
  for (size_t i = 0; i < n; i++) {
    exp_listen_opts o = {0};
    o.queue_max_bytes = (size_t)1 << 40;
    o.max_age_ms = 3600000;
    if (exp_listen(ch, "big", &o, NULL, NULL, on_listen, &ls[i]) != 0)
      die("listen", dev);
  }
  while (ls[n - 1] == NULL)
    exp_sleep(dev, 10);

  payload = make_payload(argv[3], bytes);
  text = cJSON_PrintUnformatted(payload);
  /* 42["broadcast",{"id":"<uuid>","name":"big","channel":"<id>",
   * "payload":<payload>}], as the server writes it. */
  wire = strlen(text) + strlen(exp_channel_id(ch)) + 36 +
         strlen("42[\"broadcast\",{\"id\":\"\",\"name\":\"big\","
                "\"channel\":\"\",\"payload\":}]");
  cJSON_free(text);
  /* A first broadcast of another name warms the REST connection up. */
  if (exp_broadcast_wait(uch, "warm", NULL, 0, NULL) != 0)
    die("broadcast", user);
  exp_sleep(dev, 200);
  before = atomic_load(&count_live_bytes);
  for (size_t i = 0; i < count; i++) {
    if (exp_broadcast_wait(uch, "big", payload, 0, NULL) != 0)
      die("broadcast", user);
    while (exp_listener_queued(ls[n - 1]) < i + 1)
      exp_sleep(dev, 10);
  }
  for (size_t i = 0; i < n; i++)
    while (exp_listener_queued(ls[i]) < count)
      exp_sleep(dev, 10);
  exp_sleep(dev, 100);
  after = atomic_load(&count_live_bytes);
  printf("%s payload, %zu broadcasts of %zu wire bytes, %zu queue "
         "listener(s):\n",
         argv[3], count, wire, n);
  printf("  heap held: %.1f MiB, %.0f bytes per broadcast, %.2fx its wire "
         "bytes\n",
         (double)(after - before) / 1048576.0,
         (double)(after - before) / (double)count,
         (double)(after - before) / (double)count / (double)wire);
  cJSON_Delete(payload);
  for (size_t i = 0; i < n; i++)
    exp_listener_cancel(ls[i]);
  exp_channel_free(ch);
  exp_channel_free(uch);
  exp_stop(dev);
  exp_stop(user);
  refserver_stop(&srv);
  return 0;
}
