/*
 * fork_limit.c - the physical limit for AnyEvent::Fork's process creation:
 * N times socketpair + fork; the child _exit(0)s at once, the parent closes
 * both ends and waits for it. Prints "forks_per_s=<rate>" and the
 * elapsed seconds. An optional second argument "touch=KB" makes the
 * parent dirty KB of private memory first, so that the cost of the page
 * table copy and of copy-on-write can be seen.
 *
 *   cc -O2 -o fork_limit fork_limit.c && ./fork_limit 2000 [KB]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static double now__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 2000, i;
  long kb = argc > 2 ? atol(argv[2]) : 0;
  char *mem = NULL;
  double t0, dt;

  if (n <= 0) {
    fprintf(stderr, "usage: %s N [KB]\n", argv[0]);
    return 2;
  }
  if (kb > 0) {
    mem = malloc(kb * 1024);
    if (!mem) {
      perror("malloc");
      return 1;
    }
    memset(mem, 1, kb * 1024);
  }

  t0 = now__();
  for (i = 0; i < n; i++) {
    int sv[2], status;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      perror("socketpair");
      return 1;
    }
    pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0)
      _exit(0);
    close(sv[0]);
    close(sv[1]);
    while (waitpid(pid, &status, 0) < 0)
      ;
  }
  dt = now__() - t0;
  printf("forks_per_s=%.1f\nelapsed_s=%.3f\nn=%ld\n", n / dt, dt, n);
  free(mem);
  return 0;
}
