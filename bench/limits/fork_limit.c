/*
 * fork_limit.c - the physical limit for AnyEvent::Fork's process creation.
 *
 * Creates N processes the cheapest way a C program can: socketpair + fork,
 * the child _exit(0)s at once, the parent closes both socket ends and
 * reaps it; at most K children exist at a time (the same "in flight" count
 * the Perl benchmarks use). An optional third argument KB makes the parent
 * dirty KB of private memory first, so that the cost of a bigger process
 * (page-table copy at fork, teardown at exit) can be seen. Prints key=value
 * lines: forks_per_s, elapsed_s, n, k, kb.
 *
 *   cc -O2 -o fork_limit fork_limit.c && ./fork_limit 2000 2 [KB]
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

/* one socketpair + fork; the child exits at once. 0 or -1 (perror'd) */
static int spawn__(void)
{
  int sv[2];
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    perror("socketpair");
    return -1;
  }
  pid = fork();
  if (pid == 0)
    _exit(0);
  close(sv[0]);
  close(sv[1]);
  if (pid < 0) {
    perror("fork");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 2000;
  long k = argc > 2 ? atol(argv[2]) : 1;
  long kb = argc > 3 ? atol(argv[3]) : 0;
  long started = 0, done = 0;
  char *mem = NULL;
  double t0, dt;

  if (n <= 0 || k <= 0 || kb < 0) {
    fprintf(stderr, "usage: %s N [K [KB]]\n", argv[0]);
    return 2;
  }
  if (kb > 0) {
    mem = malloc((size_t)kb * 1024);
    if (!mem) {
      perror("malloc");
      return 1;
    }
    memset(mem, 1, (size_t)kb * 1024);
  }

  t0 = now__();
  while (done < n) {
    int status;

    while (started < n && started - done < k) {
      if (spawn__() < 0)
        return 1;
      started++;
    }
    if (wait(&status) < 0) {
      perror("wait");
      return 1;
    }
    done++;
  }
  dt = now__() - t0;
  printf("forks_per_s=%.1f\nelapsed_s=%.3f\nn=%ld\nk=%ld\nkb=%ld\n", n / dt, dt, n, k, kb);
  free(mem);
  return 0;
}
