/*
 * respond.c: exp respond, answering each broadcast with --with's JSON or
 * with what --exec's command prints.
 *
 * It runs on one loop the SDK shares: the next broadcast is asked for
 * (exp_listener_next), the command is spawned with the payload on its
 * stdin, its stdout is collected until it exits, the answer is sent, and
 * then the next broadcast is asked for.  Broadcasts that arrive meanwhile
 * wait in the listener's queue.  No thread: the SDK is single-threaded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What a command may print as its answer. */
#define OUTPUT_MAX (1u << 20)

typedef struct responder {
  const cli_args *a;
  uv_loop_t loop;
  exp_sdk *sdk;
  exp_channel *ch;
  exp_listener *l;
  cJSON *with;       /* --with's answer */
  uint64_t deadline; /* ms, 0: none */
  int64_t answered;
  int status;
  /* The broadcast being answered, and its answer once known. */
  exp_message *msg;
  cJSON *answer;
  /* The command, while it runs. */
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_timer_t timer;
  uv_write_t write;
  char *input; /* the payload and a newline */
  char *output;
  size_t len;
  int handles; /* of the command, not yet closed */
  int exited, eof, timed_out, too_big, term_signal;
  int64_t exit_status;
} responder;

static void next(responder *r);

static int64_t exec_timeout(const cli_args *a) {
  return a->exec_timeout >= 0 ? a->exec_timeout : 10000;
}

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

static void finish(responder *r, int status) {
  r->status = status;
  exp_listener_cancel(r->l);
  r->l = NULL;
  exp_message_free(r->msg);
  r->msg = NULL;
  if (r->answer != r->with)
    cJSON_Delete(r->answer);
  r->answer = NULL;
  exp_stop(r->sdk);
}

static void on_answered(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  responder *r = ud;
  cJSON *line;

  cJSON_Delete(result);
  if (status == EXP_ECANCELLED)
    return;
  if (status != 0) {
    finish(r, cli_fail(sdk, "respond", status));
    return;
  }
  line = cli_message_json(exp_channel_name(r->ch), r->msg, r->answer);
  status = line != NULL ? cli_print(r->a, line)
                        : cli_fail(sdk, "respond", EXP_ENOMEM);
  cJSON_Delete(line);
  exp_message_free(r->msg);
  r->msg = NULL;
  if (r->answer != r->with)
    cJSON_Delete(r->answer);
  r->answer = NULL;
  r->answered++;
  if (status != CLI_OK)
    finish(r, status);
  else
    next(r);
}

static void answer(responder *r, cJSON *answer) {
  int rc;

  r->answer = answer;
  rc = exp_message_respond(r->msg, answer, on_answered, r);
  if (rc != 0)
    finish(r, cli_fail(r->sdk, "respond", rc));
}

/* The command is over and its handles closed: answer, or say why not. */
static void command_done(responder *r) {
  const char *id = exp_message_id(r->msg);
  cJSON *reply;

  free(r->input);
  r->input = NULL;
  if (r->timed_out || r->term_signal != 0 || r->exit_status != 0 ||
      r->too_big) {
    if (r->timed_out)
      fprintf(stderr, "exp respond: the command ran past %lld ms",
              (long long)exec_timeout(r->a));
    else if (r->term_signal != 0)
      fprintf(stderr, "exp respond: the command was killed by signal %d",
              r->term_signal);
    else if (r->exit_status != 0)
      fprintf(stderr, "exp respond: the command exited with status %lld",
              (long long)r->exit_status);
    else
      fprintf(stderr, "exp respond: the command printed more than %u bytes",
              OUTPUT_MAX);
    fprintf(stderr, ": broadcast %s not answered\n", id);
    free(r->output);
    r->output = NULL;
    exp_message_free(r->msg);
    r->msg = NULL;
    next(r);
    return;
  }
  while (r->len > 0 &&
         (r->output[r->len - 1] == '\n' || r->output[r->len - 1] == '\r'))
    r->len--;
  if (r->len == 0) {
    reply = cJSON_CreateNull();
  } else {
    r->output[r->len] = '\0';
    reply = cJSON_ParseWithLength(r->output, r->len);
    if (reply == NULL)
      reply = cJSON_CreateString(r->output);
  }
  free(r->output);
  r->output = NULL;
  if (reply == NULL)
    finish(r, cli_fail(r->sdk, "respond", EXP_ENOMEM));
  else
    answer(r, reply);
}

static void on_closed(uv_handle_t *h) {
  responder *r = h->data;

  if (--r->handles == 0)
    command_done(r);
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, on_closed);
}

/* Done once the command exited and its output ended; after a timeout, the
 * output of what it left running is not waited for. */
static void maybe_done(responder *r) {
  if (!r->exited || !(r->eof || r->timed_out))
    return;
  close_handle((uv_handle_t *)&r->proc);
  close_handle((uv_handle_t *)&r->in);
  close_handle((uv_handle_t *)&r->out);
  close_handle((uv_handle_t *)&r->timer);
}

static void on_child_exit(uv_process_t *p, int64_t status, int term_signal) {
  responder *r = p->data;

  r->exited = 1;
  r->exit_status = status;
  r->term_signal = term_signal;
  maybe_done(r);
}

static void on_timeout(uv_timer_t *t) {
  responder *r = t->data;

  r->timed_out = 1;
  /* The command runs in a process group of its own: kill all of it. */
  uv_kill(-r->proc.pid, SIGKILL);
  maybe_done(r);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char discard[4096];
  responder *r = h->data;

  (void)size;
  if (r->too_big || r->output == NULL)
    *buf = uv_buf_init(discard, sizeof(discard));
  else
    *buf = uv_buf_init(r->output + r->len, (unsigned)(OUTPUT_MAX - r->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  responder *r = s->data;

  (void)buf;
  if (n < 0) {
    uv_read_stop(s);
    r->eof = 1;
    maybe_done(r);
  } else if (!r->too_big && r->output != NULL) {
    r->len += (size_t)n;
    /* One byte stays free for the terminator. */
    if (r->len == OUTPUT_MAX)
      r->too_big = 1;
  }
}

static void on_written(uv_write_t *w, int status) {
  responder *r = w->data;

  /* A command that does not read its input makes this EPIPE: fine. */
  (void)status;
  close_handle((uv_handle_t *)&r->in);
}

static void run_command(responder *r) {
  char *args[] = {"/bin/sh", "-c", (char *)r->a->exec, NULL};
  uv_stdio_container_t stdio[3];
  uv_process_options_t opt;
  char *payload = cJSON_PrintUnformatted(exp_message_payload(r->msg));
  uv_buf_t buf;
  int rc;

  r->exited = r->eof = r->timed_out = r->too_big = r->term_signal = 0;
  r->exit_status = 0;
  r->len = 0;
  r->output = malloc(OUTPUT_MAX + 1);
  r->input = payload != NULL ? malloc(strlen(payload) + 2) : NULL;
  if (r->input == NULL || r->output == NULL) {
    cJSON_free(payload);
    free(r->output);
    r->output = NULL;
    free(r->input);
    r->input = NULL;
    finish(r, cli_fail(r->sdk, "respond", EXP_ENOMEM));
    return;
  }
  sprintf(r->input, "%s\n", payload);
  cJSON_free(payload);

  uv_pipe_init(&r->loop, &r->in, 0);
  uv_pipe_init(&r->loop, &r->out, 0);
  uv_timer_init(&r->loop, &r->timer);
  r->in.data = r->out.data = r->timer.data = r->proc.data = r->write.data = r;
  r->handles = 4;
  memset(stdio, 0, sizeof(stdio));
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&r->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&r->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  memset(&opt, 0, sizeof(opt));
  opt.file = args[0];
  opt.args = args;
  opt.exit_cb = on_child_exit;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  /* Its own process group, so that a timeout kills what it started too. */
  opt.flags = UV_PROCESS_DETACHED;
  rc = uv_spawn(&r->loop, &r->proc, &opt);
  if (rc != 0) {
    fprintf(stderr, "exp respond: cannot run the command: %s\n",
            uv_strerror(rc));
    r->exited = 1;
    r->exit_status = 127;
    r->eof = 1;
    maybe_done(r);
    return;
  }
  buf = uv_buf_init(r->input, (unsigned)strlen(r->input));
  uv_write(&r->write, (uv_stream_t *)&r->in, &buf, 1, on_written);
  uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
  uv_timer_start(&r->timer, on_timeout, (uint64_t)exec_timeout(r->a), 0);
}

static void on_next(exp_sdk *sdk, int status, exp_message *msg, void *ud) {
  responder *r = ud;

  if (status == EXP_ECANCELLED)
    return;
  if (status == EXP_ETIMEOUT) {
    next(r);
    return;
  }
  if (status != 0) {
    finish(r, cli_fail(sdk, "respond", status));
    return;
  }
  r->msg = msg;
  if (r->with != NULL)
    answer(r, r->with);
  else
    run_command(r);
}

static void next(responder *r) {
  uint64_t now = now_ms(), ms;
  int rc;

  if (r->a->count >= 0 && r->answered >= r->a->count) {
    finish(r, CLI_OK);
    return;
  }
  ms = r->deadline == 0 ? 60000 : r->deadline > now ? r->deadline - now : 0;
  if (ms == 0) {
    if (r->a->count >= 0)
      fprintf(stderr, "exp respond: %lld of %lld answers in %lld ms\n",
              (long long)r->answered, (long long)r->a->count,
              (long long)r->a->timeout);
    finish(r, r->a->count >= 0 ? CLI_NETWORK : CLI_OK);
    return;
  }
  rc = exp_listener_next(r->l, ms < 60000 ? ms : 60000, on_next, r);
  if (rc != 0)
    finish(r, cli_fail(r->sdk, "respond", rc));
}

int cmd_respond(const cli_args *a) {
  static responder r;
  int status = CLI_OK, rc;

  if (a->npos != 2)
    return cli_usage(a, a->npos == 0   ? "CHANNEL is missing"
                        : a->npos == 1 ? "EVENT is missing"
                                       : "too many arguments");
  if ((a->with == NULL) == (a->exec == NULL))
    return cli_usage(a, "give one of --with JSON and --exec CMD");
  r.a = a;
  if (a->with != NULL && (r.with = cli_json_arg(a, a->with, "--with")) == NULL)
    return CLI_USAGE;
  /* A command that exits without reading its input must not kill exp;
   * stdout then fails with EPIPE, which cli_print reports. */
  if (a->exec != NULL)
    signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&r.loop);
  r.sdk = cli_connect(a, &r.loop, CLI_NETWORK_ON, &status);
  if (r.sdk != NULL)
    r.ch = cli_channel(a, r.sdk, a->pos[0], &status);
  if (r.ch != NULL) {
    rc = exp_listen_wait(r.ch, a->pos[1], NULL, NULL, NULL, &r.l);
    if (rc != 0)
      status = cli_fail(r.sdk, "respond", rc);
    else
      cli_listening(a);
  }
  if (r.l == NULL) {
    exp_stop(r.sdk);
  } else {
    r.deadline = a->timeout > 0 ? now_ms() + (uint64_t)a->timeout : 0;
    next(&r);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    status = r.status;
  }
  /* exp_stop's last bytes go when the loop runs again. */
  uv_run(&r.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&r.loop) != 0)
    fprintf(stderr, "exp respond: the loop did not close\n");
  exp_channel_free(r.ch);
  cJSON_Delete(r.with);
  return status;
}
