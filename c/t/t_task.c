/* Unit tests of the Task splitter, worker loop and descriptor helpers. */
#include "tap.h"
#include "util.h"
#include "../aef_task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Feed input in chunks of step bytes, collect the messages joined by '|'.
 * Returns the splitter's final status (0 or negative). */
static int split_all (const char *in, size_t step, char *out, size_t outsz, size_t max)
{
  aef_task_split s;
  size_t off = 0, o = 0, n = strlen (in);
  int r = 0;

  aef_task_split_init (&s, max);
  out[0] = 0;
  for (;;)
    {
      const uint8_t *m;
      size_t len;

      while ((r = aef_task_split_next (&s, &m, &len)) == 1)
        {
          if (o + len + 2 < outsz)
            {
              memcpy (out + o, m, len);
              o += len;
              out[o++] = '|';
              out[o] = 0;
            }
        }
      if (r < 0 || off == n)
        break;
      size_t k = n - off < step ? n - off : step;
      aef_task_split_feed (&s, in + off, k);
      off += k;
    }
  aef_task_split_free (&s);
  return r;
}

/* fork functions for the forker's loop: no process is created */
static int fake_calls__;
static pid_t fake_fail__ (void *arg) { (void)arg; fake_calls__++; errno = EAGAIN; return -1; }
static pid_t fake_parent__ (void *arg) { (void)arg; fake_calls__++; return 12345; }
static pid_t fake_child__ (void *arg) { (void)arg; fake_calls__++; return 0; }

/* a real fork for the forker's loop, one at a time, when the test says so:
 * it reads one byte from gate__ first ('f', or end-of-file: fail with
 * EAGAIN instead) and reports each child's pid on report__ (-1 for a
 * failure) */
static int gate__ = -1, report__ = -1;
static pid_t gated_fork__ (void *arg)
{
  char c;
  pid_t pid;

  (void)arg;
  if (read (gate__, &c, 1) != 1)
    c = 'f';
  pid = c == 'f' ? -1 : fork ();
  if (pid != 0 && write (report__, &pid, sizeof pid) != sizeof pid)
    _exit (9);
  if (c == 'f')
    errno = EAGAIN;
  return pid;
}

/* the forker's next report: a child's pid, -1 for a failure, -2 at
 * end-of-file */
static pid_t next_fork__ (int rp)
{
  pid_t pid = -2;

  return read (rp, &pid, sizeof pid) == sizeof pid ? pid : -2;
}

/* hand a new connection numbered n to the forker; returns the test's end */
static int connect__ (int hand, uint64_t n)
{
  int c[2];

  socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c);
  aef_task_hand_send (hand, c[1], n);
  close (c[1]);
  return c[0];
}

/* what the worker at the end of connection c says: "PID N", its pid
 * returned, its number in *n; -1 when the connection was closed */
static pid_t served_by__ (int c, uint64_t *n)
{
  char buf[64];
  ssize_t got = read (c, buf, sizeof buf - 1);
  long pid;
  unsigned long long num;

  if (got <= 0)
    return -1;
  buf[got] = 0;
  if (sscanf (buf, "%ld %llu", &pid, &num) != 2)
    return -1;
  *n = num;
  return (pid_t)pid;
}

/* whether pid has exited: gone, or a zombie (one whose parent exited
 * first is left to a process 1 that may not reap it) */
static int exited__ (pid_t pid)
{
  char path[64], buf[256], *p;
  ssize_t got;
  int fd;

  if (kill (pid, 0) < 0)
    return errno == ESRCH;
  snprintf (path, sizeof path, "/proc/%ld/stat", (long)pid);
  fd = open (path, O_RDONLY);
  if (fd < 0)
    return 0;
  got = read (fd, buf, sizeof buf - 1);
  close (fd);
  buf[got > 0 ? got : 0] = 0;
  p = strrchr (buf, ')');
  return p && p[1] == ' ' && p[2] == 'Z';
}

/* wait until pid has exited (the watchdog of t/00_core.t bounds this) */
static int gone__ (pid_t pid)
{
  while (!exited__ (pid))
    usleep (10000);
  return 1;
}

static void spares_test__ (void)
{
  int hv[2], rp[2], gp[2], ep[2], a, b, c, d, e, f;
  pid_t forker, wa, wb, wc, s2, s3, s4, s5, w6, pid;
  uint64_t n = 0;
  char buf[128];
  ssize_t got;
  int status;

  socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hv);
  pipe (rp);
  pipe (gp);
  pipe (ep);
  forker = fork ();
  if (forker == 0)
    {
      int fd = -1, rc;

      close (hv[0]);
      close (rp[0]);
      close (gp[1]);
      close (ep[0]);
      dup2 (ep[1], 2);
      close (ep[1]);
      gate__ = gp[0];
      report__ = rp[1];
      rc = aef_task_forker_next (hv[1], gated_fork__, NULL, &fd, &n);
      if (rc == 0)
        {
          /* a worker: say who serves which number, then wait for the end */
          int len = snprintf (buf, sizeof buf, "%ld %llu", (long)getpid (), (unsigned long long)n);

          if (write (fd, buf, (size_t)len) != len)
            _exit (3);
          while (read (fd, buf, sizeof buf) > 0)
            ;
          _exit (0);
        }
      /* the forker, or a spare let go */
      aef_task_exit (rc == -ECONNRESET ? 0 : 4);
    }
  close (hv[1]);
  close (rp[1]);
  close (gp[0]);
  close (ep[1]);

  /* the first spare fails to fork (nothing said: no connection waits for
   * it); three connections come at once: each waits for its own fork */
  write (gp[1], "f", 1);
  ok (next_fork__ (rp[0]) == -1, "the first spare cannot be forked");
  a = connect__ (hv[0], 1);
  b = connect__ (hv[0], 2);
  c = connect__ (hv[0], 3);
  write (gp[1], "yyy", 3);
  wa = next_fork__ (rp[0]);
  wb = next_fork__ (rp[0]);
  wc = next_fork__ (rp[0]);
  pid = served_by__ (a, &n);
  ok (pid == wa && n == 1, "a connection that finds no spare gets a worker forked for it, number 1 (%ld %llu)", (long)pid, (unsigned long long)n);
  pid = served_by__ (b, &n);
  ok (pid == wb && n == 2, "so does the second, number 2");
  pid = served_by__ (c, &n);
  ok (pid == wc && n == 3, "and the third, number 3");

  /* then, with no connection waiting, one spare for each that waited */
  write (gp[1], "yyy", 3);
  s2 = next_fork__ (rp[0]);
  s3 = next_fork__ (rp[0]);
  s4 = next_fork__ (rp[0]);
  ok (s2 > 0 && s3 > 0 && s4 > 0, "three spares are forked ahead of demand (%ld %ld %ld)", (long)s2, (long)s3, (long)s4);

  /* idle: the spares are let go, newest first, down to one */
  ok (gone__ (s4), "idle: one spare let go");
  ok (gone__ (s3), "idle again: another");
  ok (!exited__ (s2), "the last one stays");

  /* it serves the next connection */
  d = connect__ (hv[0], 4);
  pid = served_by__ (d, &n);
  ok (pid == s2 && n == 4, "the spare serves the next connection, number 4 (%ld %llu)", (long)pid, (unsigned long long)n);

  /* the next two forks fail (the replacing spare, the next connection's
   * worker, in whichever order the forker gets to them): that connection
   * is closed, the forker says why; then forking works again */
  write (gp[1], "ff", 2);
  e = connect__ (hv[0], 5);
  ok (next_fork__ (rp[0]) == -1 && next_fork__ (rp[0]) == -1, "two forks fail");
  ok (served_by__ (e, &n) == -1, "a connection whose fork failed is closed");
  got = read (ep[0], buf, sizeof buf - 1);
  buf[got > 0 ? got : 0] = 0;
  ok (!strcmp (buf, "fork failed: Resource temporarily unavailable\n"), "and the forker said why, once (%s)", buf);
  close (e);
  f = connect__ (hv[0], 6);
  write (gp[1], "y", 1);
  w6 = next_fork__ (rp[0]);
  pid = served_by__ (f, &n);
  ok (pid == w6 && n == 6, "the next connection is served");
  write (gp[1], "y", 1);
  s5 = next_fork__ (rp[0]);
  ok (s5 > 0 && !exited__ (s5), "and a spare is forked again");

  /* the server gone: the forker and its spares go (a connection that came
   * while no spare was ready may have made it want one more: that fork
   * fails now); the workers end with their connections: nothing is left
   * holding the report pipe */
  close (gp[1]);
  close (hv[0]);
  ok (waitpid (forker, &status, 0) == forker && WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "the forker leaves when the server is gone");
  ok (gone__ (s5), "and its spare with it");
  close (a);
  close (b);
  close (c);
  close (d);
  close (f);
  while ((pid = next_fork__ (rp[0])) == -1)
    ;
  is_int (pid, -2, "nothing forked is left behind");
  ok (read (ep[0], buf, sizeof buf) == 0, "nothing more said on descriptor 2");
  close (rp[0]);
  close (ep[0]);
}

int main (void)
{
  static const char *in =
    "[\"do\",{},\"add\",2,3] [\"do\",{\"a\":[1,{\"b\":\"]\"}]},\"x\\\"]\\\\\"]\n"
    "[\"dn\",{}]";
  static const char *want =
    "[\"do\",{},\"add\",2,3]|[\"do\",{\"a\":[1,{\"b\":\"]\"}]},\"x\\\"]\\\\\"]|[\"dn\",{}]|";
  char out[512];
  size_t step;
  int ok_all = 1;

  for (step = 1; step <= strlen (in) + 1; step++)
    {
      int r = split_all (in, step, out, sizeof out, 0);

      if (r != 0 || strcmp (out, want))
        {
          ok_all = 0;
          printf ("# step %zu: r=%d out=%s\n", step, r, out);
        }
    }
  ok (ok_all, "messages found at the same boundaries for every chunk size");

  is_int (split_all ("[1]{\"a\":1}", 3, out, sizeof out, 0), -EPROTO,
          "an object at the top level is a corrupt stream");
  ok (!strcmp (out, "[1]|"), "the message before it was handed out");
  is_int (split_all ("]", 1, out, sizeof out, 0), -EPROTO, "a stray ] at the top level");
  is_int (split_all ("[\"0123456789abcdef", 4, out, sizeof out, 8), -EMSGSIZE,
          "an unfinished message over the bound");
  is_int (split_all ("[\"0123\"]", 2, out, sizeof out, 8), 0,
          "a message of exactly the bound passes");
  is_int (split_all ("  \n\t ", 1, out, sizeof out, 0), 0, "whitespace only");

  {
    aef_task_split s;
    const uint8_t *m;
    size_t len;
    char big[AEF_TASK_CHUNK + 1];

    aef_task_split_init (&s, 0);
    memset (big, ' ', sizeof big);
    is_int (aef_task_split_feed (&s, big, sizeof big), -EMSGSIZE, "a chunk larger than allowed");
    aef_task_split_feed (&s, "[1,", 3);
    is_int (aef_task_split_next (&s, &m, &len), 0, "incomplete");
    is_int (aef_task_split_pending (&s), 3, "three bytes held");
    aef_task_split_free (&s);
  }

  /* the worker loop over a socket pair */
  {
    int sv[2];
    aef_task_worker w;
    const uint8_t *m;
    size_t len;

    ok (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    ok (aef_task_worker_init (&w, sv[0], 0) == 0, "worker init");
    write (sv[1], "[\"do\",{},1][\"do\"", 16);
    is_int (aef_task_worker_next (&w, &m, &len), 1, "first message");
    ok (len == 11 && !memcmp (m, "[\"do\",{},1]", 11), "its bytes");
    write (sv[1], ",{},2]", 6);
    is_int (aef_task_worker_next (&w, &m, &len), 1, "second message, split across reads");
    ok (len == 11 && !memcmp (m, "[\"do\",{},2]", 11), "its bytes");
    is_int (aef_task_worker_write (&w, "[\"ok\",{},1]", 11), 0, "reply written");
    {
      char buf[32];
      ok (read (sv[1], buf, sizeof buf) == 11, "reply read by the peer");
    }
    close (sv[1]);
    is_int (aef_task_worker_next (&w, &m, &len), -ECONNRESET, "end-of-file");
    is_int (aef_task_worker_write (&w, "x", 1), -EPIPE, "writing to a closed peer: EPIPE, no signal");
    aef_task_worker_free (&w);
    close (sv[0]);
  }

  /* the hung-worker alarm */
  {
    int sv[2], err[2], status;
    pid_t pid;
    char buf[64];
    ssize_t n;

    socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
    pipe (err);
    pid = fork ();
    if (pid == 0)
      {
        aef_task_worker w;
        const uint8_t *m;
        size_t len;

        dup2 (err[1], 2);
        aef_task_worker_init (&w, sv[0], 1);
        if (aef_task_worker_next (&w, &m, &len) == 1)
          for (;;)
            pause (); /* a hung request */
        _exit (0);
      }
    close (err[1]);
    write (sv[1], "[1]", 3);
    n = read (err[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 1, "hung worker exited with status 1");
    {
      char want2[64];
      snprintf (want2, sizeof want2, "Killing hung worker (%ld)\n", (long)pid);
      ok (!strcmp (buf, want2), "and said so: %s", buf);
    }
    close (sv[0]); close (sv[1]); close (err[0]);
  }

  /* descriptor release */
  {
    int p[2], keep, n0;
    char c;

    pipe (p);
    ok (aef_task_release_fds (&p[1], 1) == 0, "release the write end");
    ok (read (p[0], &c, 1) == 0, "the read end sees end-of-file");
    ok (fcntl (p[1], F_GETFD) >= 0, "the number stays occupied");
    close (p[1]);
    n0 = count_fds ();
    keep = p[0];
    ok (aef_task_release_all_but (&keep, 1) == 0, "release all but one");
    is_int (count_fds (), n0, "no descriptor number freed or added");
    ok (fcntl (p[0], F_GETFL) >= 0 && read (p[0], &c, 1) == 0, "the kept one is still the pipe");
  }

  /* handing connections over: a descriptor and its number */
  {
    int sv[2], p[2], fd = -1, rc;
    uint64_t n = 0;
    char c = 0;

    socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
    pipe (p);
    ok (aef_task_hand_send (sv[0], p[1], 42) == 0, "hand a descriptor over with its number");
    ok (aef_task_hand_send (sv[0], p[0], (uint64_t)1 << 40) == 0, "and another one");
    rc = aef_task_hand_recv (sv[1], &fd, &n);
    ok (rc == 0 && n == 42, "received it with its number (%d, %lu)", rc, (unsigned long)n);
    ok (is_cloexec (fd) && same_file (fd, p[1]), "close-on-exec, the same pipe");
    write (fd, "x", 1);
    close (fd);
    rc = aef_task_hand_recv (sv[1], &fd, &n);
    ok (rc == 0 && n == (uint64_t)1 << 40 && same_file (fd, p[0]), "the second, in order, 64-bit number");
    ok (read (fd, &c, 1) == 1 && c == 'x', "the descriptors work");
    close (fd);
    /* a descriptor without its number, then end-of-file */
    aef_fd_send (sv[0], p[1]);
    close (sv[0]);
    close (p[1]);
    fd = -1;
    is_int (aef_task_hand_recv (sv[1], &fd, &n), -ECONNRESET, "a descriptor without its number: end-of-file");
    ok (read (p[0], &c, 1) == 0, "and the descriptor that came alone was closed");
    is_int (aef_task_hand_recv (sv[1], &fd, &n), -ECONNRESET, "end-of-file");
    is_int (aef_task_hand_send (sv[1], p[0], 1), -EPIPE, "a receiver that is gone: -EPIPE, no SIGPIPE");
    close (sv[1]);
    close (p[0]);
  }

  /* the kernel reaps children while autoreap is on */
  {
    struct sigaction sa, now;
    pid_t pid;
    int status;

    memset (&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction (SIGCHLD, &sa, NULL);
    ok (aef_task_autoreap_on () == 0, "autoreap on");
    ok (aef_task_autoreap_on () == 0, "twice");
    pid = fork ();
    if (pid == 0)
      _exit (0);
    errno = 0;
    ok (waitpid (pid, &status, 0) < 0 && errno == ECHILD, "an exited child was reaped by the kernel");
    ok (aef_task_autoreap_off () == 0, "autoreap off");
    sigaction (SIGCHLD, NULL, &now);
    ok (now.sa_handler == SIG_DFL && !(now.sa_flags & SA_NOCLDWAIT), "the previous SIGCHLD action is back");
    ok (aef_task_autoreap_off () == 0, "off again: nothing to do");
    pid = fork ();
    if (pid == 0)
      _exit (3);
    ok (waitpid (pid, &status, 0) == pid && WEXITSTATUS (status) == 3, "children are ours to wait for again");
  }

  /* the forker's loop, with fork functions that create no process */
  {
    int sv[2], p[2], err[2], saved2, fd = -1, rc;
    uint64_t n = 0;
    char buf[128], c;
    ssize_t got;

    socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
    pipe (p);
    pipe (err);
    saved2 = dup (2);
    dup2 (err[1], 2);
    close (err[1]);

    /* a failed fork: said on descriptor 2, the connection closed */
    aef_task_hand_send (sv[0], p[1], 7);
    close (p[1]);
    close (sv[0]);
    fake_calls__ = 0;
    rc = aef_task_forker_next (sv[1], fake_fail__, NULL, &fd, &n);
    dup2 (saved2, 2);
    close (saved2);
    is_int (rc, -ECONNRESET, "the server gone: the loop ends in the forker");
    is_int (fake_calls__, 1, "one fork tried");
    got = read (err[0], buf, sizeof buf - 1);
    buf[got > 0 ? got : 0] = 0;
    ok (!strcmp (buf, "fork failed: Resource temporarily unavailable\n"), "fork failed: said why (%s)", buf);
    ok (read (p[0], &c, 1) == 0, "and the connection was closed");
    close (p[0]);
    close (err[0]);
    close (sv[1]);

    /* the forker closes its copy and goes on; the child gets the connection */
    socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
    pipe (p);
    aef_task_hand_send (sv[0], p[1], 1);
    fake_calls__ = 0;
    {
      /* forker side: hand one, then end-of-file */
      int sv2[2];

      socketpair (AF_UNIX, SOCK_STREAM, 0, sv2);
      aef_task_hand_send (sv2[0], p[1], 2);
      close (sv2[0]);
      close (p[1]);
      is_int (aef_task_forker_next (sv2[1], fake_parent__, NULL, &fd, &n), -ECONNRESET, "forker: on to end-of-file");
      is_int (fake_calls__, 1, "one fork");
      close (sv2[1]);
      /* only the copy still waiting in sv holds the write end now */
    }
    rc = aef_task_forker_next (sv[1], fake_child__, NULL, &fd, &n);
    ok (rc == 0 && n == 1 && is_cloexec (fd), "child: its connection (close-on-exec) and number");
    ok (write (fd, "y", 1) == 1 && read (p[0], &c, 1) == 1 && c == 'y', "the connection works");
    close (fd);
    ok (read (p[0], &c, 1) == 0, "the forker's copies are all closed");
    close (p[0]);
    {
      int null = open ("/dev/null", O_RDONLY);

      ok (same_file (sv[1], null), "the child's copy of the hand-over socket is given up (the null device)");
      close (null);
    }
    close (sv[0]);
    close (sv[1]);
    {
      struct sigaction now;

      sigaction (SIGCHLD, NULL, &now);
      ok (now.sa_handler == SIG_DFL && !(now.sa_flags & SA_NOCLDWAIT), "the loop ended: SIGCHLD's action is back");
    }
  }

  spares_test__ ();

  return done_testing ();
}
