/*
 * Core.xs - thin Perl glue over the C core in c/.
 *
 * Rules: arguments are checked and converted first (croak only there), the
 * core is called after the last possible croak, failures come back to Perl
 * the way perl's own builtins report them (false/empty list with $! set),
 * and Perl code is only ever called under G_EVAL. Each area keeps its glue
 * in its own pair of files: xs/NAME.h (C, included here) and xs/NAME.xsh
 * (XS, INCLUDEd below).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "aef.h"
#include "closure.h"
#include "fastexit.h"

typedef int aef_fd;

/* A descriptor argument: an open Perl file handle (glob, glob ref, IO
 * object) or a non-negative integer. Croaks on anything else. */
static int
aef_xs_fd__ (pTHX_ SV *sv, const char *what)
{
  SvGETMAGIC (sv);

  if (SvROK (sv) || isGV_with_GP (sv))
    {
      IO *io = sv_2io (sv); /* croaks on things that are no handle */
      int fd = IoIFP (io) ? PerlIO_fileno (IoIFP (io)) : -1;

      if (fd < 0)
        croak ("%s: file handle is not open", what);

      return fd;
    }

  if (SvOK (sv) && looks_like_number (sv))
    {
      IV v = SvIV_nomg (sv);

      if (v >= 0 && v <= INT_MAX)
        return (int)v;
    }

  croak ("%s: not a file handle or descriptor", what);
}

/* Report a core failure the way perl's builtins do: set $! (errno). */
#define AEF_XS_ERRNO(rc) (errno = -(rc))

/* the Serve reader reuses one payload buffer for the life of the process */
static aef_buf aef_xs_serve_buf__ = { NULL, 0, 0, 0, AEF_SERVE_MAX };

#include <signal.h>
#include <sys/wait.h>

/* serve_next's one-command lookahead (after an "h" that is not followed by
 * an "f"): 0 none, 1 a command in aef_xs_serve_buf__, 2 end-of-file/error */
static int aef_xs_pending__;
static char aef_xs_pending_letter__;
static int aef_xs_pending_errno__;

/* fork for an "h"+"f" pair, as perl's fork does (flush all handles, block
 * signals around fork, clear pending signals in the child). In the child
 * the received socket takes the place of the command socket (same
 * descriptor number, so no Perl handle changes) and $0 is set. Returns
 * fork's result; -1 with errno also in a child that could not take over
 * the new socket (it then holds no socket at all). */
static pid_t
aef_xs_serve_fork__ (pTHX_ int master, int fd)
{
  sigset_t all, old;
  pid_t pid;

  PERL_FLUSHALL_FOR_CHILD;
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &old);
  pid = fork ();
  if (pid == 0)
    {
      int sig;

      PL_sig_pending = 0;
      if (PL_psig_pend)
        for (sig = 1; sig < SIG_SIZE; sig++)
          PL_psig_pend[sig] = 0;
    }
  sigprocmask (SIG_SETMASK, &old, NULL);

  if (pid == 0)
    {
      SV *owner = get_sv ("AnyEvent::Fork::Serve::OWNER", GV_ADD);
      SV *name = get_sv ("0", GV_ADD);

      if (dup3 (fd, master, O_CLOEXEC) < 0)
        {
          /* never leave this child on the template's socket: its exit
           * would half-close the template's command stream */
          int err = errno;

          close (master);
          close (fd);
          errno = err;
          return -1;
        }

      close (fd);
      aef_xs_fastexit_arm (aTHX);
      sv_setpvf (name, "%" SVf " AnyEvent::Fork", SVfARG (owner));
      SvSETMAGIC (name);
    }
  else
    close (fd);

  return pid;
}

#include "rpc.h"
#include "pool.h"

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE


void
socketpair ()
  PPCODE:
{
  int fds[2];
  int rc = aef_socketpair (fds);

  if (rc < 0)
    AEF_XS_ERRNO (rc);
  else
    {
      EXTEND (SP, 2);
      mPUSHi (fds[0]);
      mPUSHi (fds[1]);
    }
}

int
set_nonblock (aef_fd fd, int on)
  CODE:
{
  int rc = aef_set_nonblock (fd, on);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
set_cloexec (aef_fd fd, int on)
  CODE:
{
  int rc = aef_set_cloexec (fd, on);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
fd_send (aef_fd sock, aef_fd fd)
  CODE:
{
  int rc = aef_fd_send (sock, fd);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
fd_recv (aef_fd sock)
  CODE:
{
  int fd;
  int rc = aef_fd_recv (sock, &fd);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      fd = -1;
    }

  RETVAL = fd;
}
  OUTPUT: RETVAL

void
serve_next (aef_fd fd, int have_h = 0)
  PPCODE:
{
  char letter;
  int rc, status;

  /* have_h: the caller has read an "h" frame itself (see Serve.pm) */
  if (have_h)
    {
      aef_xs_pending__ = 1;
      aef_xs_pending_letter__ = 'h';
    }

  for (;;)
    {
      while (waitpid (-1, &status, WNOHANG) > 0)
        ;

      if (aef_xs_pending__ == 1)
        {
          letter = aef_xs_pending_letter__;
          rc = 1;
        }
      else if (aef_xs_pending__ == 2)
        rc = -aef_xs_pending_errno__;
      else
        rc = aef_serve_read (fd, &letter, &aef_xs_serve_buf__);
      aef_xs_pending__ = 0;

      if (rc == -EMSGSIZE)
        {
          EXTEND (SP, 1);
          mPUSHp ("!", 1); /* oversized: a corrupted stream */
          break;
        }

      if (rc <= 0)
        {
          errno = rc ? -rc : 0;
          break;
        }

      if (letter == 'h')
        {
          int got, next = aef_fd_recv (fd, &got);
          char nletter;

          if (next < 0)
            {
              errno = -next;
              EXTEND (SP, 2);
              mPUSHp ("h", 1);
              mPUSHi (-1);
              break;
            }

          next = aef_serve_read (fd, &nletter, &aef_xs_serve_buf__);
          if (next > 0 && nletter == 'f' && aef_buf_size (&aef_xs_serve_buf__) == 0)
            {
              pid_t pid = aef_xs_serve_fork__ (aTHX_ fd, got);

              if (pid < 0)
                {
                  EXTEND (SP, 1);
                  mPUSHp ("F", 1); /* errno is fork's */
                  break;
                }
              continue; /* both processes go on reading */
            }

          /* not a fork: hand the descriptor over, keep the next command */
          aef_xs_pending__ = next > 0 ? 1 : 2;
          aef_xs_pending_letter__ = nletter;
          aef_xs_pending_errno__ = next < 0 ? -next : 0;
          EXTEND (SP, 2);
          mPUSHp ("h", 1);
          mPUSHi (got);
          errno = 0; /* as perl's reader leaves it: $! is seen by user code */
          break;
        }

      EXTEND (SP, 2);
      mPUSHp (&letter, 1);
      mPUSHp ((char *)aef_buf_ptr (&aef_xs_serve_buf__),
              aef_buf_size (&aef_xs_serve_buf__));
      aef_buf_consume (&aef_xs_serve_buf__, aef_buf_size (&aef_xs_serve_buf__));
      errno = 0; /* reaping ended in ECHILD; $! is seen by user code */
      break;
    }

  /* what perl's "1 while 0 < waitpid -1, 1" leaves in $? */
  STATUS_NATIVE_CHILD_SET (-1);
}

IV
spawn (SV *path, AV *argv, AV *envp, aef_fd keep)
  CODE:
{
  const char *cpath = SvPVbyte_nolen (path);
  SSize_t nargv = av_count (argv), nenv = av_count (envp), i;
  char **cargv, **cenv;
  pid_t pid;
  int rc;

  /* stringify everything (this may croak) before allocating */
  for (i = 0; i < nargv; i++)
    SvPVbyte_nolen (*av_fetch (argv, i, 1));
  for (i = 0; i < nenv; i++)
    SvPVbyte_nolen (*av_fetch (envp, i, 1));

  Newx (cargv, nargv + 1, char *);
  SAVEFREEPV (cargv);
  Newx (cenv, nenv + 1, char *);
  SAVEFREEPV (cenv);

  for (i = 0; i < nargv; i++)
    cargv[i] = SvPVX (*av_fetch (argv, i, 1));
  cargv[nargv] = NULL;
  for (i = 0; i < nenv; i++)
    cenv[i] = SvPVX (*av_fetch (envp, i, 1));
  cenv[nenv] = NULL;

  rc = aef_spawn (&pid, cpath, cargv, cenv, &keep, 1);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      RETVAL = -1;
    }
  else
    RETVAL = pid;
}
  OUTPUT: RETVAL

INCLUDE: rpc.xsh

INCLUDE: pool.xsh

INCLUDE: closure.xsh

INCLUDE: fastexit.xsh
