/* aef_spawn.c - start a program with vfork (fork where vfork is not known
 * to be safe: AEF_HAVE_VFORK) + execve. */
#include "aef.h"

#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__GNUC__)
# define CHILD_ATTR__ __attribute__((noreturn, noinline))
#else
# define CHILD_ATTR__
#endif

/* The vfork child: it shares the parent's memory until execve, so it only
 * touches its own locals and never returns. noinline gives it a frame of
 * its own below aef_spawn's, so no stack slot of the parent is reused.
 * (After a fork, the same code is simply async-signal-safe.) */
static void CHILD_ATTR__
child__(int errfd, const char *path, char *const argv[], char *const envp[],
        const int *keep, size_t nkeep, int stdio, const sigset_t *mask)
{
  struct sigaction sa;
  size_t i;
  int sig, fd, err;

  /* A handler run here would run the parent's code on the parent's memory:
   * reset them all before signals are unblocked (ignored ones stay so). */
  for (sig = 1; sig < NSIG; sig++) {
    if (sigaction(sig, NULL, &sa) < 0
        || sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL)
      continue;
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
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
