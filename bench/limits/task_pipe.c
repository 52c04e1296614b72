/*
 * task_pipe.c - the limit for AnyEvent::Task's pipelined calls: N small
 * requests written at once on an AF_UNIX socket pair; the "worker" process
 * reads them in 4 KiB chunks (as the worker loop does) and writes one
 * reply per request, each with a write of its own (a worker answers each
 * request as soon as it is done, so replies cannot be gathered); the
 * "client" reads the replies in 64 KiB chunks until it has all of them.
 * Rounds of N calls are repeated R times; the best round counts. Nothing
 * is parsed: this is the cost of the system calls and wake-ups alone.
 * N is at most 5000: the requests, then the replies, must fit the socket
 * buffers, as the client writes all before it reads.
 * Prints key=value lines: calls_per_s, n, rounds.
 *
 *   cc -O2 -o task_pipe task_pipe.c && ./task_pipe 2000 5
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define REQ "[\"do\",{},1234]"
#define REP "[\"ok\",{},1234]"

static double now__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the worker: one reply per complete request read; returns at end-of-file */
static void worker__(int fd)
{
  char buf[4096];
  size_t have = 0;
  ssize_t got;

  while ((got = read(fd, buf + have, sizeof buf - have)) > 0) {
    size_t len = have + (size_t)got, off = 0;

    for (; len - off >= sizeof REQ - 1; off += sizeof REQ - 1)
      if (write(fd, REP, sizeof REP - 1) != (ssize_t)(sizeof REP - 1))
        _exit(1);
    have = len - off;
    memmove(buf, buf + off, have);
  }
  _exit(0);
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 2000;
  long rounds = argc > 2 ? atol(argv[2]) : 5, r;
  size_t reqlen, want;
  char *req, *buf;
  double best = 0;
  int sv[2], status;
  pid_t pid;

  if (n <= 0 || n > 5000 || rounds <= 0) {
    fprintf(stderr, "usage: %s N [ROUNDS]\n", argv[0]);
    return 2;
  }
  reqlen = (size_t)n * (sizeof REQ - 1);
  want = (size_t)n * (sizeof REP - 1);
  req = malloc(reqlen);
  buf = malloc(65536);
  if (!req || !buf) {
    perror("malloc");
    return 1;
  }
  for (r = 0; r < n; r++)
    memcpy(req + (size_t)r * (sizeof REQ - 1), REQ, sizeof REQ - 1);

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    perror("socketpair");
    return 1;
  }
  pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    close(sv[0]);
    worker__(sv[1]);
  }
  close(sv[1]);

  for (r = 0; r < rounds; r++) {
    size_t off = 0, got = 0;
    double t0 = now__(), rate;

    while (off < reqlen) {
      ssize_t w = write(sv[0], req + off, reqlen - off);

      if (w <= 0) {
        perror("write");
        return 1;
      }
      off += (size_t)w;
    }
    while (got < want) {
      ssize_t g = read(sv[0], buf, 65536);

      if (g <= 0) {
        perror("read");
        return 1;
      }
      got += (size_t)g;
    }
    rate = n / (now__() - t0);
    if (rate > best)
      best = rate;
  }
  close(sv[0]);
  waitpid(pid, &status, 0);
  printf("calls_per_s=%.1f\nn=%ld\nrounds=%ld\n", best, n, rounds);
  free(req);
  free(buf);
  return 0;
}
