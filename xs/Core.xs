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

#include "rpc.h"
#include "pool.h"

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

int
EMSGSIZE ()
  CODE:
  RETVAL = EMSGSIZE;
  OUTPUT: RETVAL

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
serve_read (aef_fd fd)
  PPCODE:
{
  char letter;
  int rc = aef_serve_read (fd, &letter, &aef_xs_serve_buf__);

  if (rc > 0)
    {
      EXTEND (SP, 2);
      mPUSHp (&letter, 1);
      mPUSHp ((char *)aef_buf_ptr (&aef_xs_serve_buf__),
              aef_buf_size (&aef_xs_serve_buf__));
      aef_buf_consume (&aef_xs_serve_buf__, aef_buf_size (&aef_xs_serve_buf__));
    }
  else
    errno = rc ? -rc : 0;
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
