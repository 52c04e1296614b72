/* t_spawn.c - aef_spawn: exit status, exec errors, kept descriptors,
 * signal state of the child. */
#include "aef.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void on_term (int sig) { }

/* No child left at all (neither running nor zombie)? */
static int no_children (void)
{
  return waitpid (-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* Run /bin/sh -c script keeping keep[], wait for it; returns its exit
 * status, or -1000 + the spawn error. */
static int sh (const char *script, const int *keep, size_t nkeep, char *const envp[])
{
  char *argv[] = { "sh", "-c", (char *)script, NULL };
  pid_t pid = -1;
  int r = aef_spawn (&pid, "/bin/sh", argv, envp ? envp : environ, keep, nkeep), status;

  if (r)
    return -1000 + r;
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
    return -2000;
  return WEXITSTATUS (status);
}

/* Everything readable from fd until EOF, NUL-terminated. */
static const char *slurp (int fd)
{
  static char buf[4096];
  size_t n = 0;
  ssize_t r;

  while (n < sizeof buf - 1 && (r = read (fd, buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  return buf;
}

static void test_exit_and_errors (void)
{
  char *argv[] = { "nonexistent", NULL };
  int before = count_fds (), bad = 999;
  pid_t pid = -5;

  is_int (sh ("exit 3", NULL, 0, NULL), 3, "sh -c 'exit 3' exits 3");
  is_int (count_fds (), before, "no descriptor left behind after success");

  is_int (aef_spawn (&pid, "/nonexistent/program", argv, environ, NULL, 0), -ENOENT,
          "nonexistent path: -ENOENT");
  is_int (pid, -5, "*pid untouched on failure");
  ok (no_children (), "no zombie left");
  is_int (count_fds (), before, "no descriptor left behind after failure");

  is_int (aef_spawn (&pid, "/dev/null", argv, environ, NULL, 0), -EACCES,
          "not executable: -EACCES");
  ok (no_children (), "no zombie left");

  is_int (aef_spawn (&pid, "/bin/sh", argv, environ, &bad, 1), -EBADF,
          "bad descriptor to keep: -EBADF");
  ok (no_children (), "no zombie left");
  is_int (count_fds (), before, "no descriptor left behind");
}

/* aef_spawn returns once the exec has happened, not when the child ends
 * (the error pipe must not leak into the program). */
static void test_returns_at_exec (void)
{
  char *argv[] = { "sh", "-c", "exec sleep 5", NULL };
  struct timespec t0, t1;
  double elapsed;
  pid_t pid = -1;
  int status = 0;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  is_int (aef_spawn (&pid, "/bin/sh", argv, environ, NULL, 0), 0, "spawn a long-running child");
  clock_gettime (CLOCK_MONOTONIC, &t1);
  elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  ok (elapsed < 2.5, "returned after %.3fs, while the child still runs", elapsed);
  kill (pid, SIGKILL);
  ok (waitpid (pid, &status, 0) == pid && WIFSIGNALED (status), "it was still running");
}

static void test_descriptors (void)
{
  int out[2], other[2], keep[2];
  char script[256];

  aef_socketpair (out);
  aef_socketpair (other);
  snprintf (script, sizeof script,
            "echo hi >&%d; if [ -e /proc/self/fd/%d ]; then echo leaked >&%d; "
            "else echo closed >&%d; fi", out[1], other[1], out[1], out[1]);

  keep[0] = out[1];
  is_int (sh (script, keep, 1, NULL), 0, "child ran");
  ok (is_cloexec (out[1]) && is_cloexec (other[1]), "parent's fds keep FD_CLOEXEC");

  /* The same check with both kept proves it can see an inherited fd. */
  keep[1] = other[1];
  is_int (sh (script, keep, 2, NULL), 0, "child ran, keeping both");
  ok (is_cloexec (out[1]) && is_cloexec (other[1]), "parent's fds still keep FD_CLOEXEC");

  close (out[1]);
  is_mem (slurp (out[0]), "hi\nclosed\nhi\nleaked\n", 21,
          "kept fd usable; a close-on-exec fd not kept is not inherited");
  close (out[0]);
  close (other[0]);
  close (other[1]);
}

static void test_env_and_signals (void)
{
  char *envp[] = { "AEF_T=hello world", NULL };
  int out[2];
  char script[256];
  sigset_t usr1, old, now;
  struct sigaction ign, catch, oldusr2, oldterm;
  const char *s, *blk, *sigign;
  unsigned long long mask = 0, ignored = 0;

  aef_socketpair (out);
  snprintf (script, sizeof script, "echo \"$AEF_T\" >&%d", out[1]);
  is_int (sh (script, &out[1], 1, envp), 0, "child ran with envp");
  aef_write_full (out[1], "-", 1);

  /* Blocked SIGUSR1, ignored SIGUSR2, caught SIGTERM in the parent. */
  sigemptyset (&usr1);
  sigaddset (&usr1, SIGUSR1);
  sigprocmask (SIG_BLOCK, &usr1, &old);
  memset (&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction (SIGUSR2, &ign, &oldusr2);
  memset (&catch, 0, sizeof catch);
  catch.sa_handler = on_term;
  sigaction (SIGTERM, &catch, &oldterm);

  snprintf (script, sizeof script,
            "exec grep -E '^Sig(Blk|Ign)' /proc/self/status >&%d", out[1]);
  is_int (sh (script, &out[1], 1, NULL), 0, "child reported its signal state");
  sigprocmask (SIG_SETMASK, NULL, &now);
  ok (sigismember (&now, SIGUSR1) && !sigismember (&now, SIGUSR2) && !sigismember (&now, SIGTERM),
      "parent's mask restored after the spawn");
  sigprocmask (SIG_SETMASK, &old, NULL);
  sigaction (SIGUSR2, &oldusr2, NULL);
  sigaction (SIGTERM, &oldterm, NULL);

  close (out[1]);
  s = slurp (out[0]);
  ok (strncmp (s, "hello world\n-", 13) == 0, "environment passed");
  blk = strstr (s, "SigBlk:");
  sigign = strstr (s, "SigIgn:");
  ok (blk && sscanf (blk, "SigBlk: %llx", &mask) == 1, "got SigBlk");
  ok (sigign && sscanf (sigign, "SigIgn: %llx", &ignored) == 1, "got SigIgn");
  ok (mask == 1ULL << (SIGUSR1 - 1), "child has the caller's mask (SigBlk %016llx)", mask);
  ok (ignored & 1ULL << (SIGUSR2 - 1), "ignored signal stays ignored (SigIgn %016llx)", ignored);
  ok (!(ignored & 1ULL << (SIGTERM - 1)), "caught signal is not ignored");
  close (out[0]);
}

/* aef_spawn_caught: the signals with a handler, as the kernel shows them;
 * a real-time one (above the first 32) as well */
static void test_caught (void)
{
  struct sigaction ign, catch, old[3];
  int sigs[3] = { SIGTERM, SIGUSR2, SIGRTMIN + 2 }, i, r;
  sigset_t set;

  memset (&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  memset (&catch, 0, sizeof catch);
  catch.sa_handler = on_term;
  sigaction (SIGTERM, &catch, &old[0]);
  sigaction (SIGUSR2, &ign, &old[1]);
  sigaction (SIGRTMIN + 2, &catch, &old[2]);
  r = aef_spawn_caught (&set);
  for (i = 0; i < 3; i++)
    sigaction (sigs[i], &old[i], NULL);

  if (!AEF_HAVE_PROC_SIGCGT) {
    is_int (r, -ENOSYS, "caught signals: not read on this build (-ENOSYS)");
    return;
  }
  is_int (r, 0, "caught signals read from /proc/self/status");
  ok (sigismember (&set, SIGTERM) == 1, "... SIGTERM, which has a handler");
  ok (sigismember (&set, SIGRTMIN + 2) == 1, "... SIGRTMIN+2 (%d), which has a handler", SIGRTMIN + 2);
  ok (sigismember (&set, SIGUSR2) == 0, "... not SIGUSR2, which is ignored");
  /* valgrind catches every signal itself (its preload library is in
   * LD_PRELOAD): the kernel then shows a handler for each */
  if (getenv ("LD_PRELOAD") && strstr (getenv ("LD_PRELOAD"), "vgpreload")) {
    ok (1, "# skip under valgrind: default signals");
    ok (1, "# skip under valgrind: handlers gone");
    return;
  }
  ok (sigismember (&set, SIGUSR1) == 0 && sigismember (&set, SIGINT) == 0,
      "... not SIGUSR1 or SIGINT, which have the default");
  r = aef_spawn_caught (&set);
  ok (r == 0 && sigismember (&set, SIGTERM) == 0 && sigismember (&set, SIGRTMIN + 2) == 0,
      "... and once the handlers are gone, neither");
}

/* aef_spawn_stdio: a socket becomes the child's 0 and 1 (and only there) */
static void test_stdio (void)
{
  char script[128], *argv[] = { "sh", "-c", script, NULL };
  int sv[2], before = count_fds (), status;
  pid_t pid = -1;
  const char *s;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    ok (0, "socketpair");
    return;
  }
  snprintf (script, sizeof script,
            "read x; echo \"got $x\"; [ -e /proc/$$/fd/%d ] && echo inherited; exit 0", sv[1]);
  is_int (aef_spawn_stdio (&pid, "/bin/sh", argv, environ, sv[1]), 0, "spawn with stdio");
  close (sv[1]);
  ok (write (sv[0], "ping\n", 5) == 5, "write to the child's stdin");
  shutdown (sv[0], SHUT_WR);
  s = slurp (sv[0]);
  ok (strcmp (s, "got ping\n") == 0, "child read stdin and wrote stdout, socket not inherited (%s)", s);
  ok (waitpid (pid, &status, 0) == pid && WIFEXITED (status) && !WEXITSTATUS (status), "child exited 0");
  close (sv[0]);
  is_int (count_fds (), before, "no descriptor left behind");
  is_int (aef_spawn_stdio (&pid, "/nonexistent/program", argv, environ, 0), -ENOENT,
          "missing program: -ENOENT");
  is_int (aef_spawn_stdio (&pid, "/bin/sh", argv, environ, -1), -EBADF, "negative stdio: -EBADF");
}

int main (void)
{
  test_stdio ();
  test_exit_and_errors ();
  test_returns_at_exec ();
  test_descriptors ();
  test_env_and_signals ();
  test_caught ();
  ok (no_children (), "no children left at the end");
  return done_testing ();
}
