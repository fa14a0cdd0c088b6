/*
 * renewal.c: broadcasts lost while tokens renew (issue 8 item 1).  Not a
 * test: it prints figures.
 *
 * A reference server with --token-ttl TTL, a device listening on one
 * channel, a user broadcasting {"n": i} there RATE times a second for
 * SECONDS (over REST, network off), both on one loop.  It prints the
 * broadcasts the server accepted, those received (and how many twice),
 * the lost ones, and the OFFLINE events the device saw.
 *
 * Usage: soak_renewal NODE test/server/main.js TTL RATE SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "exp.h"
#include "refserver.h"

static unsigned char *seen;
static long sent, failed, received, twice, offline, total;
static int done;

static void die(const char *what, exp_sdk *sdk) {
  fprintf(stderr, "soak_renewal: %s: %s\n", what,
          sdk != NULL ? exp_last_error(sdk)->message : "");
  exit(1);
}

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *m,
                       void *ud) {
  const cJSON *n = cJSON_GetObjectItem(exp_message_payload(m), "n");
  (void)sdk;
  (void)l;
  (void)ud;
  if (cJSON_IsNumber(n) && n->valueint >= 0 && n->valueint < total) {
    if (seen[n->valueint]++ == 0)
      received++;
    else
      twice++;
  }
  exp_message_free(m);
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  (void)sdk;
  (void)data;
  (void)ud;
  if (ev == EXP_EVENT_OFFLINE)
    offline++;
}

static void on_sent(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  (void)sdk;
  (void)ud;
  if (status == 0)
    sent++;
  else
    failed++;
  cJSON_Delete(result);
}

typedef struct sender {
  uv_timer_t timer;
  exp_channel *ch;
  long next;
} sender;

static void on_tick(uv_timer_t *t) {
  sender *s = t->data;
  cJSON *p;
  if (s->next >= total) {
    uv_timer_stop(t);
    done = 1;
    return;
  }
  p = cJSON_CreateObject();
  cJSON_AddNumberToObject(p, "n", (double)s->next++);
  if (exp_broadcast(s->ch, "r", p, 0, on_sent, NULL) != 0)
    failed++;
  cJSON_Delete(p);
}

static void on_listen(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  if (status != 0)
    die("listen", sdk);
  *(exp_listener **)ud = l;
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  if (status != 0)
    die("start", sdk);
  ++*(int *)ud;
}

int main(int argc, char **argv) {
  const char *extra[] = {"--token-ttl", argc > 3 ? argv[3] : "2", NULL};
  refserver srv;
  uv_loop_t loop;
  exp_sdk *dev, *user;
  exp_channel *ch;
  exp_listener *l = NULL;
  sender s;
  int started = 0;
  long rate, seconds, lost = 0;
  uint64_t end;

  if (argc < 6) {
    fprintf(stderr, "usage: %s NODE MAIN_JS TTL RATE SECONDS\n", argv[0]);
    return 2;
  }
  rate = atol(argv[4]);
  seconds = atol(argv[5]);
  total = rate * seconds;
  seen = calloc((size_t)total + 1, 1);
  if (refserver_start(&srv, argv[1], argv[2], extra) != 0)
    die("the server did not start", NULL);
  uv_loop_init(&loop);
  dev = exp_new(&loop);
  user = exp_new(&loop);
  refserver_credentials(dev, DEVICE);
  refserver_credentials(user, USER);
  exp_set_str(dev, EXP_OPT_HOST, srv.origin);
  exp_set_str(user, EXP_OPT_HOST, srv.origin);
  exp_set_int(user, EXP_OPT_ENABLE_NETWORK, 0);
  exp_set_log(dev, EXP_LOG_ERROR, NULL, NULL);
  exp_set_log(user, EXP_LOG_ERROR, NULL, NULL);
  exp_on(dev, EXP_EVENT_OFFLINE, on_event, NULL);
  exp_start(dev, on_started, &started);
  exp_start(user, on_started, &started);
  while (started < 2)
    uv_run(&loop, UV_RUN_ONCE);
  ch = exp_get_channel(dev, "renewal", 0);
  if (ch == NULL || exp_listen(ch, "r", NULL, on_message, NULL, on_listen, &l))
    die("listen", dev);
  while (l == NULL)
    uv_run(&loop, UV_RUN_ONCE);
  s.ch = exp_get_channel(user, "renewal", 0);
  s.next = 0;
  uv_timer_init(&loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, on_tick, 0, (uint64_t)(1000 / rate));
  while (!done || sent + failed < s.next)
    uv_run(&loop, UV_RUN_ONCE);
  /* The last broadcasts' way to the device. */
  end = uv_now(&loop) + 3000;
  while (received + twice < sent && uv_now(&loop) < end) {
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_sleep(5);
    uv_update_time(&loop);
  }
  for (long i = 0; i < total; i++)
    lost += seen[i] == 0;
  printf("token-ttl %s s, %ld broadcasts/s for %ld s: %ld accepted (%ld "
         "failed), %ld received, %ld twice, %ld lost, %ld OFFLINE events\n",
         argv[3], rate, seconds, sent, failed, received, twice, lost - failed,
         offline);
  uv_close((uv_handle_t *)&s.timer, NULL);
  exp_listener_cancel(l);
  exp_channel_free(ch);
  exp_channel_free(s.ch);
  exp_stop(dev);
  exp_stop(user);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  refserver_stop(&srv);
  free(seen);
  return 0;
}
