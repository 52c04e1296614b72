/* aef_spawn.c - start a program with vfork (fork where vfork is not known
 * to be safe: AEF_HAVE_VFORK) + execve. */
#include "aef.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__GNUC__)
# define CHILD_ATTR__ __attribute__((noreturn, noinline))
#else
# define CHILD_ATTR__
#endif

int aef_spawn_caught(sigset_t *caught)
{
#if AEF_HAVE_PROC_SIGCGT
  /* the line is "SigCgt:\t" and hex digits, the last one for signals 1-4;
   * the file is some 1.5 KiB, a larger one is read only this far */
  static const char key[] = "\nSigCgt:\t";
  char buf[4096];
  size_t got = 0, i, k, end;
  ssize_t n;
  int fd, sig, digit, r = 0;

  fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ENOSYS : -errno;
  while (got < sizeof buf) {
    n = read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      r = -errno;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (r)
    return r;

  /* no string functions: the vfork child calls as little as it can */
  for (i = 0; i + sizeof key - 1 <= got; i++) {
    for (k = 0; k < sizeof key - 1 && buf[i + k] == key[k]; k++)
      ;
    if (k == sizeof key - 1)
      break;
  }
  if (i + sizeof key - 1 > got)
    return -ENOSYS;
  i += sizeof key - 1;
  for (end = i; end < got && buf[end] != '\n'; end++)
    ;
  if (end == i || end == got)
    return -ENOSYS;

  sigemptyset(caught);
  for (k = 0; k < end - i; k++) {
    char c = buf[end - 1 - k]; /* k-th digit from the right */
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else
      return -ENOSYS;
    for (sig = 0; sig < 4; sig++)
      if (digit & 1 << sig && 4 * k + sig + 1 < NSIG)
        sigaddset(caught, (int)(4 * k) + sig + 1);
  }
  return 0;
#else
  (void)caught;
  return -ENOSYS;
#endif
}

/* The vfork child: it shares the parent's memory until execve, so it only
 * touches its own locals and never returns. noinline gives it a frame of
 * its own below aef_spawn's, so no stack slot of the parent is reused.
 * (After a fork, the same code is simply async-signal-safe.) */
static void CHILD_ATTR__
child__(int errfd, const char *path, char *const argv[], char *const envp[],
        const int *keep, size_t nkeep, int stdio, const sigset_t *mask)
{
  struct sigaction sa, dfl;
  sigset_t caught;
  size_t i;
  int sig, fd, err, known;

  /* A handler run here would run the parent's code on the parent's memory:
   * reset them all before signals are unblocked (ignored ones stay so).
   * Which signals have one is read at once where the system tells (this
   * process's own table, a copy of the parent's), else asked per signal. */
  dfl.sa_handler = SIG_DFL;
  dfl.sa_flags = 0;
  sigemptyset(&dfl.sa_mask);
  known = aef_spawn_caught(&caught) == 0;
  for (sig = 1; sig < NSIG; sig++) {
    if (known ? !sigismember(&caught, sig)
              : sigaction(sig, NULL, &sa) < 0
                || sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL)
      continue;
    sigaction(sig, &dfl, NULL);
  }

  /* The child has its own descriptor table: this leaves the parent's
   * flags alone. */
  for (i = 0; i < nkeep; i++) {
    err = -aef_set_cloexec(keep[i], 0);
    if (err)
      goto fail;
  }

  /* stdio onto 0 and 1 (dup2 clears FD_CLOEXEC on the copy; a descriptor
   * that already is 0 or 1 needs its flag cleared instead) */
  for (fd = 0; stdio >= 0 && fd <= 1; fd++) {
    if (stdio == fd)
      err = -aef_set_cloexec(fd, 0);
    else
      err = dup2(stdio, fd) < 0 ? errno : 0;
    if (err)
      goto fail;
  }

  pthread_sigmask(SIG_SETMASK, mask, NULL);
  execve(path, argv, envp);
  err = errno;
fail:
  while (write(errfd, &err, sizeof err) < 0 && errno == EINTR)
    ;
  _exit(127);
}

static int spawn__(pid_t *pid, const char *path, char *const argv[],
                   char *const envp[], const int *keep, size_t nkeep,
                   int stdio)
{
  int errpipe[2], err, r;
  sigset_t all, old;
  pid_t child;

  r = aef_pipe(errpipe);
  if (r)
    return r;

  /* No handler of ours may run in the child before it has reset them. */
  sigfillset(&all);
  r = -pthread_sigmask(SIG_SETMASK, &all, &old);
  if (r)
    goto out;

#if AEF_HAVE_VFORK
  child = vfork();
#else
  child = fork();
#endif
  if (child == 0)
    child__(errpipe[1], path, argv, envp, keep, nkeep, stdio, &old);
  err = errno; /* only meaningful when vfork / fork failed */
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (child < 0) {
    r = -err;
    goto out;
  }

  /* The child has exec'd (closing the pipe: EOF) or written its errno and
   * exited. A read error cannot happen on our own pipe; should it, the
   * child exists, so report it rather than lose it. */
  close(errpipe[1]);
  errpipe[1] = -1;
  if (aef_read_full(errpipe[0], &err, sizeof err) == 1) {
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
      ;
    r = -err;
    goto out;
  }
  *pid = child;
  r = 0;

out:
  close(errpipe[0]);
  if (errpipe[1] >= 0)
    close(errpipe[1]);
  return r;
}

int aef_spawn(pid_t *pid, const char *path, char *const argv[],
              char *const envp[], const int *keep, size_t nkeep)
{
  return spawn__(pid, path, argv, envp, keep, nkeep, -1);
}

int aef_spawn_stdio(pid_t *pid, const char *path, char *const argv[],
                    char *const envp[], int stdio)
{
  if (stdio < 0)
    return -EBADF;
  return spawn__(pid, path, argv, envp, NULL, 0, stdio);
}
