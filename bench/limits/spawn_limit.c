/*
 * spawn_limit.c - the physical limit for AnyEvent::Fork->new_exec.
 *
 * Starts a program (e.g. perl -e 0) N times with vfork + execve and reaps
 * it; at most K run at a time (the "in flight" count of the Perl
 * benchmarks). Every run must exit with status 0. Prints key=value lines:
 * spawns_per_s, elapsed_s, n, k.
 *
 *   cc -O2 -o spawn_limit spawn_limit.c && ./spawn_limit 300 2 /usr/bin/perl -e 0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

static double now__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* start argv[0] with vfork + execve; the pid, or -1 (perror'd). The vfork
 * child only calls execve or _exit, never returns. */
static pid_t spawn__(char **argv)
{
  pid_t pid = vfork();

  if (pid == 0) {
    execve(argv[0], argv, environ);
    _exit(127);
  }
  if (pid < 0)
    perror("vfork");
  return pid;
}

int main(int argc, char **argv)
{
  long n = argc > 3 ? atol(argv[1]) : 0;
  long k = argc > 3 ? atol(argv[2]) : 0;
  long started = 0, done = 0;
  double t0, dt;

  if (n <= 0 || k <= 0) {
    fprintf(stderr, "usage: %s N K PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }

  t0 = now__();
  while (done < n) {
    int status;

    while (started < n && started - done < k) {
      if (spawn__(argv + 3) < 0)
        return 1;
      started++;
    }
    if (wait(&status) < 0) {
      perror("wait");
      return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
      fprintf(stderr, "%s: %s failed (status %d)\n", argv[0], argv[3], status);
      return 1;
    }
    done++;
  }
  dt = now__() - t0;
  printf("spawns_per_s=%.1f\nelapsed_s=%.3f\nn=%ld\nk=%ld\n", n / dt, dt, n, k);
  return 0;
}
