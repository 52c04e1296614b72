/* t_fd.c - socketpairs, flags, descriptor passing, full reads/writes. */
#include "aef.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Send n descriptors in one SCM_RIGHTS message with one data byte. */
static ssize_t send_fds (int sock, const int *fds, size_t n)
{
  char byte = 0, ctl[CMSG_SPACE (sizeof (int) * 16)];
  struct iovec iov = { &byte, 1 };
  struct msghdr msg;
  struct cmsghdr *cmsg;

  memset (&msg, 0, sizeof msg);
  memset (ctl, 0, sizeof ctl);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = CMSG_SPACE (sizeof (int) * n);
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n);
  memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n);
  return sendmsg (sock, &msg, MSG_NOSIGNAL);
}

static int sigpipe_pending (void)
{
  sigset_t set;

  return sigpending (&set) == 0 && sigismember (&set, SIGPIPE);
}

static int sigpipe_blocked (void)
{
  sigset_t set;

  return sigprocmask (SIG_SETMASK, NULL, &set) == 0 && sigismember (&set, SIGPIPE);
}

static void test_pipe_dup (void)
{
  int p[2] = { -1, -1 }, before = count_fds (), target;
  char c = 0;

  is_int (aef_pipe (p), 0, "aef_pipe");
  ok (is_cloexec (p[0]) && is_cloexec (p[1]), "both ends close-on-exec");
  ok (write (p[1], "x", 1) == 1 && read (p[0], &c, 1) == 1 && c == 'x', "data flows from [1] to [0]");

  target = p[1] + 10;
  ok (fcntl (target, F_GETFD) < 0, "target %d is free", target);
  is_int (aef_dup_cloexec (p[1], target), 0, "dup to a free target");
  ok (is_cloexec (target) && same_file (target, p[1]), "a close-on-exec duplicate");
  ok (write (target, "y", 1) == 1 && read (p[0], &c, 1) == 1 && c == 'y', "that writes into the pipe");
  aef_set_cloexec (target, 0);
  is_int (aef_dup_cloexec (p[0], target), 0, "dup over an open target");
  ok (is_cloexec (target) && same_file (target, p[0]), "target replaced, close-on-exec again");
  ok (is_cloexec (p[0]), "source keeps its flags");
  is_int (aef_dup_cloexec (p[0], p[0]), -EINVAL, "fd onto itself: -EINVAL");
  is_int (aef_dup_cloexec (-1, target), -EBADF, "bad source: -EBADF");
  is_int (aef_dup_cloexec (p[0], -1), -EBADF, "bad target: -EBADF");
  close (target);
  close (p[0]);
  close (p[1]);
  is_int (count_fds (), before, "nothing leaked");
}

static void test_socketpair_flags (void)
{
  int sv[2] = { -1, -1 }, type = 0, fl;
  socklen_t len = sizeof type;

  is_int (aef_socketpair (sv), 0, "socketpair");
  ok (is_cloexec (sv[0]) && is_cloexec (sv[1]), "both ends close-on-exec");
  ok (getsockopt (sv[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM, "stream socket");

  is_int (aef_set_nonblock (sv[0], 1), 0, "set nonblock");
  fl = fcntl (sv[0], F_GETFL);
  ok (fl & O_NONBLOCK, "O_NONBLOCK set");
  is_int (aef_set_nonblock (sv[0], 1), 0, "set nonblock again");
  is_int (aef_set_nonblock (sv[0], 0), 0, "clear nonblock");
  ok (!(fcntl (sv[0], F_GETFL) & O_NONBLOCK), "O_NONBLOCK cleared");
  ok ((fcntl (sv[0], F_GETFL) & O_RDWR) == O_RDWR, "access mode untouched");

  is_int (aef_set_cloexec (sv[0], 0), 0, "clear cloexec");
  ok (!is_cloexec (sv[0]), "FD_CLOEXEC cleared");
  is_int (aef_set_cloexec (sv[0], 1), 0, "set cloexec");
  ok (is_cloexec (sv[0]), "FD_CLOEXEC set");

  is_int (aef_set_nonblock (-1, 1), -EBADF, "nonblock on bad fd: -EBADF");
  is_int (aef_set_cloexec (-1, 1), -EBADF, "cloexec on bad fd: -EBADF");
  close (sv[0]);
  close (sv[1]);
}

static void test_send_recv (void)
{
  int sv[2], pfd[2], got = -1, got2 = -1, before;
  char buf[8];

  aef_socketpair (sv);
  ok (pipe (pfd) == 0, "plain pipe (not close-on-exec)");

  is_int (aef_fd_send (sv[1], pfd[1]), 0, "send the write end");
  is_int (aef_write_full (sv[1], "abc", 3), 0, "followed by data");
  is_int (aef_fd_recv (sv[0], &got), 0, "recv");
  ok (got >= 0 && got != pfd[1], "a new descriptor: %d", got);
  ok (is_cloexec (got), "received descriptor is close-on-exec");
  ok (same_file (got, pfd[1]), "refers to the same file (st_dev/st_ino)");
  ok (write (got, "!", 1) == 1 && read (pfd[0], buf, 1) == 1 && buf[0] == '!', "and works");
  aef_set_nonblock (sv[0], 1);
  ok (read (sv[0], buf, sizeof buf) == 3 && memcmp (buf, "abc", 3) == 0,
      "exactly the bytes after the fd byte remain");
  aef_set_nonblock (sv[0], 0);
  close (got);

  /* Two messages in a row: one descriptor each. */
  aef_fd_send (sv[1], pfd[0]);
  aef_fd_send (sv[1], pfd[1]);
  is_int (aef_fd_recv (sv[0], &got), 0, "recv first of two");
  is_int (aef_fd_recv (sv[0], &got2), 0, "recv second of two");
  ok (same_file (got, pfd[0]) && same_file (got2, pfd[1]), "in order");
  close (got);
  close (got2);

  /* A byte without a descriptor. */
  before = count_fds ();
  aef_write_full (sv[1], "x", 1);
  got = -7;
  is_int (aef_fd_recv (sv[0], &got), -EDOM, "byte without fd: -EDOM");
  is_int (got, -7, "*fd_out untouched on failure");

  /* Several descriptors in one message: the first is kept, others closed. */
  {
    int three[3] = { pfd[0], pfd[1], pfd[1] };

    ok (send_fds (sv[1], three, 3) == 1, "sent three fds by hand");
    is_int (aef_fd_recv (sv[0], &got), 0, "recv of a three-fd message");
    ok (same_file (got, pfd[0]), "the first one is kept");
    is_int (count_fds (), before + 1, "the surplus ones were closed");
    close (got);
  }

  /* More than the control buffer holds: truncated, all closed. */
  {
    int many[16], i;

    for (i = 0; i < 16; i++)
      many[i] = pfd[i & 1];
    ok (send_fds (sv[1], many, 16) == 1, "sent 16 fds by hand");
    is_int (aef_fd_recv (sv[0], &got), -EMSGSIZE, "truncated control data: -EMSGSIZE");
    is_int (count_fds (), before, "no descriptor left behind");
  }

  /* Non-blocking and empty. */
  aef_set_nonblock (sv[0], 1);
  is_int (aef_fd_recv (sv[0], &got), -EAGAIN, "empty non-blocking socket: -EAGAIN");
  aef_set_nonblock (sv[0], 0);

  is_int (aef_fd_send (sv[1], -1), -EBADF, "send of a bad fd: -EBADF");
  is_int (aef_fd_recv (-1, &got), -EBADF, "recv on a bad socket: -EBADF");

  /* Full non-blocking socket. */
  aef_set_nonblock (sv[1], 1);
  {
    char junk[4096];

    memset (junk, 0, sizeof junk);
    while (write (sv[1], junk, sizeof junk) > 0)
      ;
    while (write (sv[1], junk, 1) > 0)
      ;
  }
  is_int (aef_fd_send (sv[1], pfd[0]), -EAGAIN, "full non-blocking socket: -EAGAIN");
  aef_set_nonblock (sv[1], 0);

  /* EOF, and a peer that is gone: no SIGPIPE (a default SIGPIPE would
   * kill this test), none left pending, the signal mask unchanged. */
  signal (SIGPIPE, SIG_DFL);
  close (sv[0]);
  is_int (aef_fd_send (sv[1], pfd[0]), -EPIPE, "send to a closed peer: -EPIPE, no SIGPIPE");
  ok (!sigpipe_pending (), "no SIGPIPE left pending");
  ok (!sigpipe_blocked (), "SIGPIPE not left blocked");

  /* A SIGPIPE the caller had pending (blocked) before stays pending. */
  {
    sigset_t set, old;
    int sig = 0;

    sigemptyset (&set);
    sigaddset (&set, SIGPIPE);
    sigprocmask (SIG_BLOCK, &set, &old);
    kill (getpid (), SIGPIPE);
    is_int (aef_fd_send (sv[1], pfd[0]), -EPIPE, "again, with a SIGPIPE of the caller pending");
    ok (sigpipe_pending () && sigpipe_blocked (), "the caller's SIGPIPE still pending, still blocked");
    sigwait (&set, &sig);
    sigprocmask (SIG_SETMASK, &old, NULL);
  }
  close (sv[1]);

  aef_socketpair (sv);
  close (sv[1]);
  is_int (aef_fd_recv (sv[0], &got), -ECONNRESET, "EOF: -ECONNRESET");
  close (sv[0]);
  close (pfd[0]);
  close (pfd[1]);
  is_int (count_fds (), before - 4, "nothing leaked (the 4 test fds closed)");
}

static void test_full_io (void)
{
  int sv[2], status = -1;
  static char big[1 << 20], back[1 << 20];
  size_t i;
  pid_t pid;

  for (i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 13 + (i >> 12));

  /* 1 MiB through a socket: many partial writes and reads; the writer's
   * end is non-blocking, so write_full meets EAGAIN and waits. */
  aef_socketpair (sv);
  pid = fork ();
  if (pid == 0) {
    close (sv[0]);
    aef_set_nonblock (sv[1], 1);
    _exit (aef_write_full (sv[1], big, sizeof big) == 0 ? 0 : 1);
  }
  close (sv[1]);
  is_int (aef_read_full (sv[0], back, sizeof back), 1, "read_full of 1 MiB");
  ok (memcmp (big, back, sizeof big) == 0, "content intact");
  waitpid (pid, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "write_full of 1 MiB in the child");
  is_int (aef_read_full (sv[0], back, 0), 1, "read of 0 bytes: 1");
  is_int (aef_read_full (sv[0], back, 1), 0, "EOF: 0");
  close (sv[0]);

  aef_socketpair (sv);
  aef_write_full (sv[1], "abc", 3);
  close (sv[1]);
  is_int (aef_read_full (sv[0], back, 4), 0, "EOF after a short read: 0");
  close (sv[0]);

  is_int (aef_read_full (-1, back, 1), -EBADF, "read_full on bad fd: -EBADF");
  is_int (aef_write_full (-1, "x", 1), -EBADF, "write_full on bad fd: -EBADF");
  is_int (aef_write_full (-1, "x", 0), 0, "write of 0 bytes: 0");

  /* aef_write_file: every byte reaches a regular file */
  {
    char path[] = "/tmp/aef-t_fd-XXXXXX";
    size_t n = 300000;
    int f = mkstemp (path);

    ok (f >= 0, "a temporary file");
    unlink (path);
    memset (big, 'z', n);
    big[n - 1] = '!';
    is_int (aef_write_file (f, big, n), 0, "write_file of 300000 bytes: 0");
    is_int ((int)lseek (f, 0, SEEK_CUR), (int)n, "the file holds them all");
    lseek (f, -1, SEEK_END);
    is_int (aef_read_full (f, back, 1) == 1 && back[0] == '!', 1, "the last one last");
    close (f);
    is_int (aef_write_file (f, "x", 1), -EBADF, "write_file on a closed fd: -EBADF");
  }

  /* A reader that is gone, on a socket and on a pipe: -EPIPE and no
   * SIGPIPE (a default SIGPIPE would kill this test), none left pending,
   * the mask unchanged; a SIGPIPE the caller had pending stays pending. */
  signal (SIGPIPE, SIG_DFL);
  for (i = 0; i < 2; i++) {
    const char *what = i ? "pipe" : "socket";
    sigset_t set, old;
    int sig = 0;

    if (i ? aef_pipe (sv) : aef_socketpair (sv))
      break;
    close (sv[0]);
    is_int (aef_write_full (sv[1], "x", 1), -EPIPE, "write_full to a gone reader (%s): -EPIPE, no SIGPIPE", what);
    ok (!sigpipe_pending () && !sigpipe_blocked (), "no SIGPIPE left pending or blocked (%s)", what);

    sigemptyset (&set);
    sigaddset (&set, SIGPIPE);
    sigprocmask (SIG_BLOCK, &set, &old);
    kill (getpid (), SIGPIPE);
    is_int (aef_write_full (sv[1], "x", 1), -EPIPE, "again, with a SIGPIPE of the caller pending (%s)", what);
    ok (sigpipe_pending () && sigpipe_blocked (), "the caller's SIGPIPE still pending, still blocked (%s)", what);
    sigwait (&set, &sig);
    sigprocmask (SIG_SETMASK, &old, NULL);
    close (sv[1]);
  }
}

static volatile sig_atomic_t alarms;
static void on_alarm (int sig) { alarms++; }

/* Interrupt blocking calls with a handler without SA_RESTART: the core
 * must retry rather than return -EINTR. */
static void test_eintr (void)
{
  struct sigaction sa, old;
  struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
  int sv[2], pfd[2], got = -1;
  char buf[4];
  pid_t pid;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction (SIGALRM, &sa, &old);

  aef_socketpair (sv);
  is_int (aef_pipe (pfd), 0, "pipe");
  pid = fork ();
  if (pid == 0) {
    usleep (150000);
    aef_write_full (sv[1], "ab", 2);
    usleep (150000);
    aef_fd_send (sv[1], pfd[0]);
    _exit (0);
  }
  setitimer (ITIMER_REAL, &it, NULL);
  is_int (aef_read_full (sv[0], buf, 2), 1, "read_full survives signals");
  is_int (aef_fd_recv (sv[0], &got), 0, "fd_recv survives signals");
  setitimer (ITIMER_REAL, &off, NULL);
  ok (alarms > 2, "signals did arrive (%d)", (int)alarms);
  ok (same_file (got, pfd[0]), "right descriptor");
  waitpid (pid, NULL, 0);
  sigaction (SIGALRM, &old, NULL);
  close (got);
  close (pfd[0]);
  close (pfd[1]);
  close (sv[0]);
  close (sv[1]);
}

int main (void)
{
  test_socketpair_flags ();
  test_pipe_dup ();
  test_send_recv ();
  test_full_io ();
  test_eintr ();
  return done_testing ();
}
