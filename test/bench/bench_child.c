/*
 * bench_child.c: runs a command and prints the CPU time and peak resident
 * set it used, for the clients run.js cannot instrument (curl).
 *
 *   bench_child COMMAND [ARG...]
 *
 * The command's standard output goes to /dev/null (curl writes the bodies
 * there); prints {"exit": N, "user_us": U, "sys_us": S, "maxrss_kb": K}
 * from wait4's rusage of the command alone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct rusage ru;
  int status;
  pid_t pid;

  if (argc < 2) {
    fprintf(stderr, "usage: bench_child COMMAND [ARG...]\n");
    return 2;
  }
  pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null < 0 || dup2(null, 1) < 0)
      _exit(127);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  if (wait4(pid, &status, 0, &ru) != pid)
    return 1;
  printf("{\"exit\":%d,\"user_us\":%.0f,\"sys_us\":%.0f,\"maxrss_kb\":%ld}\n",
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
         (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec,
         (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec,
         ru.ru_maxrss);
  return 0;
}
