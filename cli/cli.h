/*
 * cli.h: what the exp command's files share.  main.c parses the command
 * line into a cli_args and runs one command; each command file connects
 * with cli_connect, prints JSON with cli_print and reports failures with
 * cli_fail, whose result is the process's exit status.
 */
#ifndef EXP_CLI_H
#define EXP_CLI_H

#include <stdint.h>

#include <exp.h>

/* Exit statuses (the man page and every --help repeat them). */
enum {
  CLI_OK = 0,
  CLI_REFUSED = 1, /* the server refused, or not found */
  CLI_USAGE = 2,   /* bad arguments */
  CLI_NETWORK = 3  /* network error or timeout */
};

#define CLI_MAX_ARGS 64

typedef struct cli_args {
  const char *command;
  const char *pos[CLI_MAX_ARGS]; /* positional arguments after the command */
  int npos;
  /* Connection: flags, else the environment. */
  const char *host, *hosts, *username, *password, *organization, *uuid, *secret,
      *api_key, *ca_file, *as;
  int insecure;
  int64_t request_timeout; /* -1: the SDK's default */
  int pretty, verbose;
  /* Options of single commands; -1 (or NULL) when not given. */
  int64_t timeout, count, exec_timeout;
  int system, consumer;
  const char *with, *exec, *variant;
} cli_args;

/* Connection kinds for cli_connect. */
enum {
  CLI_REST = 0,   /* REST only: no socket */
  CLI_NETWORK_ON, /* with the real-time socket, online before it returns */
  CLI_PAIRING_ON  /* a pairing device: no credentials, with the socket */
};

/* A started SDK handle on loop (NULL: a private one), or NULL after
 * reporting why, with *status set to the exit status. */
exp_sdk *cli_connect(const cli_args *a, uv_loop_t *loop, int kind, int *status);

/* Reports the failure rc of what (e.g. "show") on stderr: the SDK's
 * message and the server's code.  Returns the exit status for rc. */
int cli_fail(exp_sdk *sdk, const char *what, int rc);
/* The exit status for an exp_errno. */
int cli_status(int rc);

/* "exp COMMAND: ..." on stderr plus a hint to --help; returns CLI_USAGE. */
int cli_usage(const cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes json on one line (or indented with --pretty) to stdout and
 * flushes it.  CLI_OK, or CLI_REFUSED when out of memory. */
int cli_print(const cli_args *a, const cJSON *json);

/* Parses a JSON argument; "-" reads it from stdin.  NULL after a usage
 * message naming what (e.g. "the body"). */
cJSON *cli_json_arg(const cli_args *a, const char *text, const char *what);

/* Adds a NAME=VALUE argument to *query (created when NULL) as a string.
 * 1 when text has that form and was added, 0 when it has not, -1 when out
 * of memory. */
int cli_query_arg(cJSON **query, const char *text);

/* The channel called name with --system and --consumer, or NULL after
 * reporting why, with *status set. */
exp_channel *cli_channel(const cli_args *a, exp_sdk *sdk, const char *name,
                         int *status);

/* With --verbose, says on stderr that broadcasts from now on are heard
 * (scripts wait for that line before they broadcast). */
void cli_listening(const cli_args *a);

/* {name, channel, id, payload[, response]} for a received broadcast; the
 * object borrows msg's payload and response (free it first).  NULL when
 * out of memory. */
cJSON *cli_message_json(const char *channel, exp_message *msg,
                        const cJSON *response);

/* The commands, one per function; each returns the exit status. */
int cmd_login(const cli_args *a);
int cmd_rest(const cli_args *a); /* get, post, put, patch, delete */
int cmd_pair(const cli_args *a);
int cmd_find(const cli_args *a);
int cmd_show(const cli_args *a);
int cmd_create(const cli_args *a);
int cmd_save(const cli_args *a);
int cmd_rm(const cli_args *a);
int cmd_url(const cli_args *a);
int cmd_broadcast(const cli_args *a); /* broadcast, fling, identify */
int cmd_listen(const cli_args *a);
int cmd_respond(const cli_args *a);
int cmd_pairing(const cli_args *a);

#endif
