/* common.c: connecting, printing and reporting for every command. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Bodies read from stdin: the SDK's own default cap on answers. */
#define STDIN_MAX (32u << 20)

static const char *pick(const char *flag, const char *var) {
  const char *v = flag != NULL ? flag : getenv(var);
  return v != NULL && *v != '\0' ? v : NULL;
}

static void set(exp_sdk *sdk, exp_option opt, const char *value) {
  if (value != NULL)
    exp_set_str(sdk, opt, value);
}

exp_sdk *cli_connect(const cli_args *a, uv_loop_t *loop, int kind,
                     int *status) {
  const char *as = a->as;
  const char *username = pick(a->username, "EXP_USERNAME");
  const char *secret = pick(a->secret, "EXP_SECRET");
  const char *host = pick(a->host, "EXP_HOST");
  const char *hosts = pick(a->hosts, "EXP_HOSTS");
  int64_t timeout = a->request_timeout >= 0 ? a->request_timeout : 10000;
  exp_sdk *sdk;
  int rc;

  if (a->host != NULL && a->hosts != NULL) {
    *status = cli_usage(a, "give one of --host and --hosts");
    return NULL;
  }
  /* A flag beats both variables; of the two variables, EXP_HOSTS wins
   * (the SDK refuses both set). */
  if (a->host != NULL)
    hosts = NULL;
  else if (hosts != NULL)
    host = NULL;
  sdk = exp_new(loop);
  if (sdk == NULL) {
    fprintf(stderr, "exp: out of memory\n");
    *status = CLI_REFUSED;
    return NULL;
  }
  /* exp reports failures itself; the SDK's log is for --verbose. */
  exp_set_log(sdk, a->verbose ? EXP_LOG_DEBUG : EXP_LOG_NONE, NULL, NULL);
  set(sdk, EXP_OPT_HOST, host);
  set(sdk, EXP_OPT_HOSTS, hosts);
  set(sdk, EXP_OPT_CA_FILE, pick(a->ca_file, "EXP_CA_FILE"));
  if (a->insecure)
    exp_set_int(sdk, EXP_OPT_TLS_VERIFY, 0);
  if (a->request_timeout > 0)
    exp_set_int(sdk, EXP_OPT_REQUEST_TIMEOUT_MS, a->request_timeout);
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, kind != CLI_REST);
  /* The SDK's own order when several kinds are set: user, device,
   * consumer app; --as sets only the one asked for. */
  if (as == NULL)
    as = username != NULL ? "user" : secret != NULL ? "device" : "consumer";
  if (kind == CLI_PAIRING_ON) {
    exp_set_int(sdk, EXP_OPT_ALLOW_PAIRING, 1);
  } else if (strcmp(as, "user") == 0) {
    set(sdk, EXP_OPT_USERNAME, username);
    set(sdk, EXP_OPT_PASSWORD, pick(a->password, "EXP_PASSWORD"));
    set(sdk, EXP_OPT_ORGANIZATION, pick(a->organization, "EXP_ORGANIZATION"));
  } else {
    set(sdk, EXP_OPT_UUID, pick(a->uuid, "EXP_UUID"));
    if (strcmp(as, "device") == 0)
      set(sdk, EXP_OPT_SECRET, secret);
    else
      set(sdk, EXP_OPT_API_KEY, pick(a->api_key, "EXP_API_KEY"));
  }
  rc = exp_start_wait(sdk, (uint64_t)timeout);
  if (rc != 0) {
    *status = cli_fail(sdk, a->command, rc);
    exp_stop(sdk);
    return NULL;
  }
  *status = CLI_OK;
  return sdk;
}

int cli_status(int rc) {
  switch (rc) {
  case 0:
    return CLI_OK;
  case EXP_EOPTIONS:
    return CLI_USAGE;
  case EXP_ETIMEOUT:
  case EXP_ENETWORK:
  case EXP_ETLS:
  case EXP_EPROTOCOL:
    return CLI_NETWORK;
  default:
    return CLI_REFUSED;
  }
}

int cli_fail(exp_sdk *sdk, const char *what, int rc) {
  const exp_error_info *e = exp_last_error(sdk);

  /* The SDK's messages never hold a credential (exp.h, logging). */
  if (e != NULL && e->code == rc) {
    fprintf(stderr, "exp %s: %s", what, e->message);
    if (e->api_code != NULL)
      fprintf(stderr, " [%s]", e->api_code);
    fputc('\n', stderr);
  } else {
    fprintf(stderr, "exp %s: %s\n", what, exp_strerror(rc));
  }
  return cli_status(rc);
}

int cli_usage(const cli_args *a, const char *fmt, ...) {
  const char *cmd = a->command != NULL ? a->command : "";
  va_list ap;

  fprintf(stderr, "exp%s%s: ", *cmd ? " " : "", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (exp %s%s--help)\n", cmd, *cmd ? " " : "");
  return CLI_USAGE;
}

int cli_print(const cli_args *a, const cJSON *json) {
  char *s = a->pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);

  if (s == NULL) {
    fprintf(stderr, "exp %s: out of memory\n", a->command);
    return CLI_REFUSED;
  }
  puts(s);
  cJSON_free(s);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "exp %s: cannot write to stdout\n", a->command);
    return CLI_REFUSED;
  }
  return CLI_OK;
}

static char *read_stdin(size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);

  while (buf != NULL) {
    size_t got = fread(buf + n, 1, cap - n - 1, stdin);

    n += got;
    if (got == 0)
      break;
    if (n + 1 == cap) {
      char *bigger = cap < STDIN_MAX ? realloc(buf, cap * 2) : NULL;

      if (bigger == NULL) {
        free(buf);
        return NULL;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  if (buf != NULL && ferror(stdin)) {
    free(buf);
    return NULL;
  }
  if (buf != NULL)
    buf[n] = '\0';
  *len = n;
  return buf;
}

cJSON *cli_json_arg(const cli_args *a, const char *text, const char *what) {
  char *in = NULL;
  size_t len = strlen(text);
  const char *end = NULL;
  cJSON *j;

  if (strcmp(text, "-") == 0) {
    in = read_stdin(&len);
    if (in == NULL) {
      cli_usage(a, "cannot read %s from stdin (at most %u bytes)", what,
                STDIN_MAX);
      return NULL;
    }
    text = in;
  }
  j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  /* Trailing whitespace (a newline from echo) is fine, anything else not. */
  while (j != NULL && end < text + len && *end != '\0' &&
         strchr(" \t\r\n", *end) != NULL)
    end++;
  if (j == NULL || end != text + len) {
    /* end: where parsing stopped, also on failure. */
    cli_usage(a, "%s is not valid JSON (near byte %ld)", what,
              end != NULL ? (long)(end - text) : 0L);
    cJSON_Delete(j);
    j = NULL;
  }
  free(in);
  return j;
}

int cli_query_arg(cJSON **query, const char *text) {
  const char *eq = strchr(text, '=');
  char *name;
  int ok;

  /* A name of one or more characters that no JSON text starts with. */
  if (eq == NULL || eq == text ||
      strcspn(text, "{}[]\" ") < (size_t)(eq - text))
    return 0;
  if (*query == NULL && (*query = cJSON_CreateObject()) == NULL)
    return -1;
  name = malloc((size_t)(eq - text) + 1);
  if (name == NULL)
    return -1;
  memcpy(name, text, (size_t)(eq - text));
  name[eq - text] = '\0';
  ok = cJSON_AddStringToObject(*query, name, eq + 1) != NULL;
  free(name);
  return ok ? 1 : -1;
}
