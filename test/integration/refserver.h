/*
 * refserver.h: runs the reference server (test/server/main.js) for a test:
 * starts it on a free port, reads its "listening <origin>" line, and stops
 * it with SIGTERM.  It lives on its own loop, so the loops under test only
 * ever see the SDK's handles.
 */
#ifndef EXP_REFSERVER_H
#define EXP_REFSERVER_H

#include <uv.h>

#include "exp.h"

typedef struct refserver {
  uv_loop_t loop;
  uv_process_t proc;
  uv_pipe_t out;
  char line[256];
  size_t len;
  int exited;
  char origin[128]; /* "http://127.0.0.1:40123" */
  int port;
} refserver;

/* node: the node binary; main_js: test/server/main.js; extra: further
 * arguments ("--token-ttl", "2", ...), NULL-terminated, or NULL.  0 when
 * it listens. */
int refserver_start(refserver *s, const char *node, const char *main_js,
                    const char *const *extra);
/* The same on a given port (0: a free one), e.g. to restart a stopped
 * server where its clients will reconnect. */
int refserver_start_on(refserver *s, const char *node, const char *main_js,
                       const char *const *extra, int port);
void refserver_stop(refserver *s);

/* POST path on the server with no body (its /_test hooks) over plain
 * HTTP; returns the HTTP status, or -1. */
int refserver_post(const refserver *s, const char *path);

/* The fixtures the server seeds (test/server/README.md). */
typedef enum cred { USER, DEVICE, CONSUMER, PAIRING } cred;

/* Sets the credentials of fixture c on sdk. */
void refserver_credentials(exp_sdk *sdk, cred c);

#endif
