/*
 * with_server.c: runs a command next to the reference server.
 *
 *   with_server NODE MAIN_JS COMMAND [ARG ...]
 *
 * Starts test/server/main.js on a free port (refserver.c), runs COMMAND
 * with EXP_HOST naming it, stops the server, and exits with COMMAND's
 * status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refserver.h"

int main(int argc, char **argv) {
  refserver s;
  pid_t pid;
  int status = 0;

  if (argc < 4) {
    fprintf(stderr, "usage: with_server NODE MAIN_JS COMMAND [ARG ...]\n");
    return 2;
  }
  if (refserver_start(&s, argv[1], argv[2], NULL) != 0)
    return 1;
  setenv("EXP_HOST", s.origin, 1);
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &status, 0) < 0) {
    perror("with_server");
    status = 1 << 8;
  }
  refserver_stop(&s);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "with_server: %s killed by signal %d\n", argv[3],
            WTERMSIG(status));
    return 1;
  }
  return WEXITSTATUS(status);
}
