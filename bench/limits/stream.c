/* stream.c - the bulk-transfer limit: one process writes N MiB in 64 KiB
 * writes to an AF_UNIX socketpair, another reads them (into a 64 KiB
 * buffer that stays in the cache).
 * usage: stream MIB   prints the lines mib=N, secs=S, rate=R (MiB/s) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static double now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main (int argc, char **argv)
{
  long mib = argc > 1 ? atol (argv[1]) : 1024;
  long long total = (long long)mib << 20, got = 0;
  static char buf[CHUNK];
  int sv[2];
  double t;
  pid_t pid;

  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return 1;

  pid = fork ();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    long long sent = 0;

    close (sv[0]);
    memset (buf, 'x', sizeof buf);
    while (sent < total) {
      ssize_t w = write (sv[1], buf, CHUNK);

      if (w <= 0)
        _exit (1);
      sent += w;
    }
    _exit (0);
  }

  close (sv[1]);
  t = now ();
  while (got < total) {
    ssize_t r = read (sv[0], buf, sizeof buf);

    if (r <= 0)
      return 1;
    got += r;
  }
  t = now () - t;

  waitpid (pid, NULL, 0);
  printf ("mib=%ld\nsecs=%.6f\nrate=%.1f\n", mib, t, mib / t);
  return 0;
}
