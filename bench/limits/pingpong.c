/* pingpong.c - the round-trip limit: two processes bounce an 8-octet
 * message over an AF_UNIX socketpair with blocking read/write.
 * usage: pingpong N   prints the lines roundtrips=N, secs=S, rate=R */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* exactly n octets, or exit */
static void xfer (int fd, char *buf, size_t n, int rd)
{
  while (n) {
    ssize_t r = rd ? read (fd, buf, n) : write (fd, buf, n);

    if (r <= 0)
      exit (1);
    buf += r;
    n -= (size_t)r;
  }
}

int main (int argc, char **argv)
{
  long n = argc > 1 ? atol (argv[1]) : 100000, i;
  char msg[8] = "pingpong";
  int sv[2];
  double t;
  pid_t pid;

  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return 1;

  pid = fork ();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    close (sv[0]);
    for (i = 0; i < n + 1; i++) {
      xfer (sv[1], msg, 8, 1);
      xfer (sv[1], msg, 8, 0);
    }
    _exit (0);
  }

  close (sv[1]);
  xfer (sv[0], msg, 8, 0); /* warm up: both processes running */
  xfer (sv[0], msg, 8, 1);

  t = now ();
  for (i = 0; i < n; i++) {
    xfer (sv[0], msg, 8, 0);
    xfer (sv[0], msg, 8, 1);
  }
  t = now () - t;

  waitpid (pid, NULL, 0);
  printf ("roundtrips=%ld\nsecs=%.6f\nrate=%.1f\n", n, t, n / t);
  return 0;
}
