/*
 * main.c: the exp command: parses the command line, prints the help, and
 * runs one command.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Options beyond the connection's, which each command accepts or not. */
enum {
  O_TIMEOUT = 1,
  O_COUNT = 2,
  O_FLAGS = 4,  /* --system, --consumer */
  O_ANSWER = 8, /* --with, --exec, --exec-timeout */
  O_VARIANT = 16
};

typedef struct command {
  const char *name;
  int (*run)(const cli_args *a);
  int options;
  const char *help;
} command;

#define EXIT_TEXT                                                              \
  "Exit status: 0 success, 1 the server refused or not found, 2 bad\n"         \
  "arguments, 3 network error or timeout.\n"

#define REST_HELP                                                              \
  "Usage: exp get PATH [NAME=VALUE ...]\n"                                     \
  "       exp post|put|patch|delete PATH [JSON|-] [NAME=VALUE ...]\n"          \
  "\n"                                                                         \
  "Makes one REST call and prints the server's answer (nothing when it is\n"   \
  "empty).  PATH is the API path, e.g. /api/devices, already\n"                \
  "percent-encoded; a PATH without a leading slash is under /api/\n"           \
  "(devices means /api/devices).  NAME=VALUE arguments make the query\n"       \
  "string.  The body is the JSON argument, or stdin when it is -.\n"           \
  "\n"                                                                         \
  "  exp get devices limit=2 sort=name\n"                                      \
  "  echo '{\"name\":\"lobby\"}' | exp post /api/things -\n"

static const command commands[] = {
    {"login", cmd_login, 0,
     "Usage: exp login\n"
     "\n"
     "Logs in and prints the identity the server knows the credentials by\n"
     "({type, organization, uuid, username...}).  The token is not printed.\n"},
    {"get", cmd_rest, 0, REST_HELP},
    {"post", cmd_rest, 0, REST_HELP},
    {"put", cmd_rest, 0, REST_HELP},
    {"patch", cmd_rest, 0, REST_HELP},
    {"delete", cmd_rest, 0, REST_HELP},
    {"find", cmd_find, 0,
     "Usage: exp find KIND [NAME=VALUE ...]\n"
     "\n"
     "Prints the documents of KIND that match the query, one a line.  KIND\n"
     "is devices, things, experiences, locations, feeds, content or data\n"
     "(or the singular).  The query compares fields of the documents\n"
     "(dotted for sub-fields: location.uuid=UUID) and takes limit, skip and\n"
     "sort; data items are found by group=GROUP.\n"
     "\n"
     "  exp find devices name=lobby\n"
     "  exp find data group=sensors limit=10\n"},
    {"show", cmd_show, 0,
     "Usage: exp show KIND UUID\n"
     "       exp show data GROUP/KEY\n"
     "\n"
     "Prints one document.  KIND as for find; a data item is named by its\n"
     "group and key (KEY alone: the group \"default\").\n"},
    {"create", cmd_create, 0,
     "Usage: exp create KIND JSON|-\n"
     "       exp create data GROUP/KEY JSON|-\n"
     "\n"
     "Creates a device, thing, experience, location or feed from the JSON\n"
     "document (stdin for -) and prints it as the server saved it (a new\n"
     "device's includes its secret).  For data, JSON is the item's value, an\n"
     "object; an item that exists is replaced.\n"},
    {"save", cmd_save, 0,
     "Usage: exp save KIND UUID PATCH|-\n"
     "       exp save data GROUP/KEY PATCH|-\n"
     "\n"
     "Reads the document, applies PATCH, a JSON merge patch (RFC 7386: its\n"
     "members replace the document's, null removes one, objects merge),\n"
     "saves it and prints the server's answer.  For data the patch applies\n"
     "to the item's value.\n"
     "\n"
     "  exp save devices UUID '{\"name\":\"hall\",\"note\":null}'\n"},
    {"rm", cmd_rm, 0,
     "Usage: exp rm KIND UUID\n"
     "       exp rm data GROUP/KEY\n"
     "\n"
     "Deletes a device, thing, experience, location, feed or data item.\n"
     "Prints nothing.\n"},
    {"url", cmd_url, O_VARIANT,
     "Usage: exp url CONTENT-UUID [--variant NAME]\n"
     "\n"
     "Prints the delivery URL of a content item as a line of text.  It\n"
     "carries a restricted token: whoever has it can fetch the content\n"
     "while that token is valid.\n"
     "\n"
     "  --variant NAME  the URL of the file's variant NAME (exit 1 when it\n"
     "                  has none by that name)\n"},
    {"broadcast", cmd_broadcast, O_TIMEOUT | O_FLAGS,
     "Usage: exp broadcast CHANNEL EVENT [JSON|-] [--timeout MS] [--system]\n"
     "                     [--consumer]\n"
     "\n"
     "Broadcasts EVENT on CHANNEL with the JSON payload (none when absent;\n"
     "stdin for -), collects the responses for MS milliseconds, and prints\n"
     "each on a line, in the order they arrived.\n"
     "\n"
     "  --timeout MS  how long to collect responses: 0 (the default) sends\n"
     "                and collects none; the reference server allows 60000\n"
     "  --system      the channel of the server's own events (the server\n"
     "                refuses broadcasts on it: exit 1)\n"
     "  --consumer    a channel open to consumer apps\n"
     "\n"
     "  exp broadcast lobby hello '{\"text\":\"hi\"}' --timeout 2000\n"},
    {"listen", cmd_listen, O_TIMEOUT | O_COUNT | O_FLAGS,
     "Usage: exp listen CHANNEL [EVENT] [--count N] [--timeout MS] [--system]\n"
     "                  [--consumer]\n"
     "\n"
     "Listens for EVENT (without EVENT: every event) on CHANNEL and prints\n"
     "each broadcast as it arrives, one a line: {\"name\", \"channel\",\n"
     "\"id\", \"payload\"}.  Without --count or --timeout it runs until\n"
     "interrupted.\n"
     "\n"
     "  --count N     stop after N broadcasts\n"
     "  --timeout MS  stop after MS milliseconds; with --count, exit 3 when\n"
     "                fewer than N arrived by then\n"
     "  --system      the server's own events: \"update\" and \"delete\" on\n"
     "                the channel named by a document's uuid\n"
     "  --consumer    a channel open to consumer apps\n"
     "\n"
     "  exp listen lobby hello | while read -r line; do echo \"$line\"; "
     "done\n"},
    {"respond", cmd_respond, O_TIMEOUT | O_COUNT | O_FLAGS | O_ANSWER,
     "Usage: exp respond CHANNEL EVENT (--with JSON | --exec CMD) [--count N]\n"
     "                   [--timeout MS] [--exec-timeout MS] [--system]\n"
     "                   [--consumer]\n"
     "\n"
     "Answers each broadcast of EVENT on CHANNEL and prints a line for each\n"
     "answer: {\"name\", \"channel\", \"id\", \"payload\", \"response\"}.\n"
     "\n"
     "  --with JSON        answer JSON\n"
     "  --exec CMD         run CMD with /bin/sh -c for each broadcast, one at\n"
     "                     a time, with the payload (a line of JSON) on its\n"
     "                     stdin; its stdout is the answer: that JSON, or a\n"
     "                     string of the text without its last newline when\n"
     "                     it is not JSON; null when empty.  A command that\n"
     "                     exits non-zero or outlives --exec-timeout (it is\n"
     "                     then killed) sends no answer: exp reports it on\n"
     "                     stderr and goes on.  Broadcasts that arrive\n"
     "                     meanwhile wait their turn.\n"
     "  --exec-timeout MS  the time CMD gets per broadcast: 10000\n"
     "  --count N          stop after N answers\n"
     "  --timeout MS       stop after MS milliseconds; with --count, exit 3\n"
     "                     when fewer than N were answered by then\n"
     "  --system, --consumer  the channel's kind, as for listen\n"
     "\n"
     "  exp respond lobby time --exec date\n"
     "  exp respond lobby upper --exec 'tr a-z A-Z'\n"},
    {"fling", cmd_broadcast, O_TIMEOUT | O_FLAGS,
     "Usage: exp fling CHANNEL JSON|- [--timeout MS] [--consumer]\n"
     "\n"
     "Broadcasts \"fling\" on CHANNEL with app launch options, e.g.\n"
     "{\"content\":\"UUID\"}, and prints the responses that arrive within MS\n"
     "milliseconds (2000), one a line.\n"},
    {"identify", cmd_broadcast, O_TIMEOUT | O_FLAGS,
     "Usage: exp identify DEVICE-UUID [--timeout MS] [--consumer]\n"
     "\n"
     "Asks a device to show itself: broadcasts \"identify\" on the channel\n"
     "named by its uuid, and prints the responses that arrive within MS\n"
     "milliseconds (2000), one a line.\n"},
    {"pair", cmd_pair, 0,
     "Usage: exp pair CODE [UUID]\n"
     "\n"
     "As a user: pairs the device that shows CODE (dashes and case do not\n"
     "matter) and prints the device it became, without its secret (only\n"
     "the device gets that).  With UUID, the device takes the place of that\n"
     "existing device; without, a new one is created.\n"},
    {"pairing", cmd_pairing, O_TIMEOUT,
     "Usage: exp pairing [--timeout MS]\n"
     "\n"
     "Starts as a device without credentials, prints {\"pairingCode\": CODE}\n"
     "and waits for a user to pair it (exp pair CODE).  Then prints\n"
     "{\"uuid\", \"secret\"}: the credentials to keep (EXP_UUID, EXP_SECRET).\n"
     "Ignores the connection's credentials.\n"
     "\n"
     "  --timeout MS  give up after MS milliseconds (exit 3); by default it\n"
     "                waits until interrupted\n"},
};

static const char usage_text[] =
    "Usage: exp [OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n"
    "\n"
    "A command-line client for EXP servers.  JSON goes to stdout, one\n"
    "document a line; messages go to stderr.  exp COMMAND --help tells\n"
    "more about each command.\n"
    "\n"
    "Commands:\n"
    "  login                          print the identity of the credentials\n"
    "  get|post|put|patch|delete PATH REST calls\n"
    "  find KIND [NAME=VALUE ...]     list devices, things, experiences,\n"
    "                                 locations, feeds, content or data\n"
    "  show|create|save|rm KIND ...   one document\n"
    "  url CONTENT-UUID               a content item's delivery URL\n"
    "  broadcast CHANNEL EVENT [JSON] broadcast and print the responses\n"
    "  listen CHANNEL [EVENT]         print broadcasts as they arrive\n"
    "  respond CHANNEL EVENT          answer broadcasts (--with, --exec)\n"
    "  fling CHANNEL JSON             ask players to launch an app\n"
    "  identify DEVICE-UUID           ask a device to show itself\n"
    "  pair CODE [UUID]               pair a device, as a user\n"
    "  pairing                        be a device waiting to be paired\n"
    "\n"
    "Connection options (each overrides its environment variable):\n"
    "  --host URL            EXP_HOST: the server's origin\n"
    "                        (the SDK's default: https://api.goexp.io)\n"
    "  --hosts URL,URL...    EXP_HOSTS: several nodes of one network, tried\n"
    "                        in order when one cannot be reached (instead\n"
    "                        of --host; EXP_HOSTS wins over EXP_HOST)\n"
    "  --username NAME       EXP_USERNAME    \\\n"
    "  --password WORD       EXP_PASSWORD     > a user\n"
    "  --organization ORG    EXP_ORGANIZATION/\n"
    "  --uuid UUID           EXP_UUID: a device's or a consumer app's\n"
    "  --secret SECRET       EXP_SECRET: a device's\n"
    "  --api-key KEY         EXP_API_KEY: a consumer app's\n"
    "  --as user|device|consumer\n"
    "                        which credentials to use when several are set\n"
    "                        (default: user, then device, then consumer)\n"
    "  --ca-file FILE        EXP_CA_FILE: CA certificates for TLS\n"
    "  --insecure            skip TLS certificate and host checks\n"
    "  --request-timeout MS  the deadline of the login and of each REST call\n"
    "                        (10000)\n"
    "  --pretty              indent the JSON\n"
    "  --verbose, -v         the SDK's log on stderr (logins, reconnections),\n"
    "                        and for listen and respond a line once they\n"
    "                        hear broadcasts\n"
    "\n"
    "Secrets on the command line are visible to other users of the machine:\n"
    "prefer the environment for passwords, secrets and API keys.\n"
    "\n" EXIT_TEXT;

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static int parse_ms(const cli_args *a, const char *opt, const char *text,
                    int64_t *out) {
  char *end;
  long long v;

  errno = 0;
  v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 0)
    return cli_usage(a, "%s wants a number (0 or more), not \"%s\"", opt, text);
  *out = v;
  return 0;
}

/* Connection flags, then the given command's own.  Returns 0, or
 * CLI_USAGE after a message; *help set for --help. */
static int parse_option(cli_args *a, const command *cmd, const char *opt,
                        const char *value, int *used, int *help) {
  static const struct {
    const char *name;
    size_t offset;
  } strings[] = {
      {"--host", offsetof(cli_args, host)},
      {"--hosts", offsetof(cli_args, hosts)},
      {"--username", offsetof(cli_args, username)},
      {"--password", offsetof(cli_args, password)},
      {"--organization", offsetof(cli_args, organization)},
      {"--uuid", offsetof(cli_args, uuid)},
      {"--secret", offsetof(cli_args, secret)},
      {"--api-key", offsetof(cli_args, api_key)},
      {"--ca-file", offsetof(cli_args, ca_file)},
      {"--as", offsetof(cli_args, as)},
  };
  int opts = cmd != NULL ? cmd->options : 0;

  *used = 0;
  if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
    *help = 1;
    return 0;
  }
  if (strcmp(opt, "--insecure") == 0) {
    a->insecure = 1;
    return 0;
  }
  if (strcmp(opt, "--pretty") == 0) {
    a->pretty = 1;
    return 0;
  }
  if (strcmp(opt, "--verbose") == 0 || strcmp(opt, "-v") == 0) {
    a->verbose = 1;
    return 0;
  }
  if ((opts & O_FLAGS) && strcmp(opt, "--system") == 0) {
    a->system = 1;
    return 0;
  }
  if ((opts & O_FLAGS) && strcmp(opt, "--consumer") == 0) {
    a->consumer = 1;
    return 0;
  }
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
    if (strcmp(opt, strings[i].name) == 0) {
      if (value == NULL)
        return cli_usage(a, "%s wants a value", opt);
      *(const char **)((char *)a + strings[i].offset) = value;
      *used = 1;
      return 0;
    }
  {
    int64_t *num = NULL;

    if (strcmp(opt, "--request-timeout") == 0)
      num = &a->request_timeout;
    else if ((opts & O_TIMEOUT) && strcmp(opt, "--timeout") == 0)
      num = &a->timeout;
    else if ((opts & O_COUNT) && strcmp(opt, "--count") == 0)
      num = &a->count;
    else if ((opts & O_ANSWER) && strcmp(opt, "--exec-timeout") == 0)
      num = &a->exec_timeout;
    if (num != NULL) {
      if (value == NULL)
        return cli_usage(a, "%s wants a value", opt);
      *used = 1;
      return parse_ms(a, opt, value, num);
    }
  }
  if (((opts & O_ANSWER) &&
       (strcmp(opt, "--with") == 0 || strcmp(opt, "--exec") == 0)) ||
      ((opts & O_VARIANT) && strcmp(opt, "--variant") == 0)) {
    if (value == NULL)
      return cli_usage(a, "%s wants a value", opt);
    if (strcmp(opt, "--with") == 0)
      a->with = value;
    else if (strcmp(opt, "--exec") == 0)
      a->exec = value;
    else
      a->variant = value;
    *used = 1;
    return 0;
  }
  return cli_usage(a, "unknown option %s", opt);
}

int main(int argc, char **argv) {
  static cli_args a;
  const command *cmd = NULL;
  int help = 0, options_done = 0;

  a.request_timeout = a.timeout = a.count = a.exec_timeout = -1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];

    if (!options_done && strcmp(arg, "--") == 0) {
      options_done = 1;
    } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
      /* --name=value or --name value */
      char name[64];
      const char *eq = strchr(arg, '=');
      const char *value = NULL;
      int used, rc;

      if (eq != NULL) {
        if ((size_t)(eq - arg) >= sizeof(name))
          return cli_usage(&a, "unknown option %s", arg);
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        value = eq + 1;
      } else {
        snprintf(name, sizeof(name), "%s", arg);
        value = i + 1 < argc ? argv[i + 1] : NULL;
      }
      rc = parse_option(&a, cmd, name, value, &used, &help);
      if (rc != 0)
        return rc;
      if (used && eq == NULL)
        i++;
      else if (!used && eq != NULL)
        return cli_usage(&a, "%s takes no value", name);
    } else if (cmd == NULL) {
      cmd = find_command(arg);
      if (cmd == NULL) {
        fprintf(stderr, "exp: unknown command \"%s\" (exp --help lists them)\n",
                arg);
        return CLI_USAGE;
      }
      a.command = cmd->name;
    } else if (a.npos == CLI_MAX_ARGS) {
      return cli_usage(&a, "too many arguments");
    } else {
      a.pos[a.npos++] = arg;
    }
  }
  if (help) {
    fputs(cmd != NULL ? cmd->help : usage_text, stdout);
    if (cmd != NULL)
      fputs("\nConnection options: exp --help.\n" EXIT_TEXT, stdout);
    return CLI_OK;
  }
  if (cmd == NULL) {
    fputs(usage_text, stderr);
    return CLI_USAGE;
  }
  if (a.as != NULL && strcmp(a.as, "user") != 0 &&
      strcmp(a.as, "device") != 0 && strcmp(a.as, "consumer") != 0)
    return cli_usage(&a, "--as wants user, device or consumer, not \"%s\"",
                     a.as);
  return cmd->run(&a);
}
