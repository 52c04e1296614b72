/* util.c - helpers shared by the glue units (see util.h). */
#define NEED_mg_findext
#include "util.h"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

int
aef_xs_fd (pTHX_ SV *sv, const char *what)
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

int
aef_xs_call1 (pTHX_ SV *cb, SV *arg)
{
  dSP;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  if (arg)
    XPUSHs (arg);
  PUTBACK;
  call_sv (cb, G_VOID | G_DISCARD | G_EVAL);
  FREETMPS;
  LEAVE;

  return AEF_XS_DIED ? -1 : 0;
}

void
aef_xs_rethrow (pTHX)
{
  croak_sv (sv_2mortal (newSVsv (ERRSV)));
}

/* $w = AE::NAME $a, $b, $cb (a, b: not consumed): aef_xs_io, aef_xs_timer */
static SV *
aef_xs_watch__ (pTHX_ const char *name, SV *a, SV *b, CV *cb)
{
  dSP;
  CV *make = get_cv (name, 0);
  SV *w;

  if (!make)
    {
      sv_setpvs (ERRSV, "AnyEvent::Fork::RPC: AnyEvent is not loaded\n");
      return NULL;
    }

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  EXTEND (SP, 3);
  PUSHs (a);
  PUSHs (b);
  mPUSHs (newRV_inc ((SV *)cb));
  PUTBACK;

  call_sv ((SV *)make, G_SCALAR | G_EVAL);

  SPAGAIN;
  w = POPs;
  w = AEF_XS_DIED ? NULL : newSVsv (w);
  PUTBACK;
  FREETMPS;
  LEAVE;

  return w;
}

SV *
aef_xs_io (pTHX_ SV *fh, int poll, CV *cb)
{
  return aef_xs_watch__ (aTHX_ "AE::io", fh, sv_2mortal (newSViv (poll)), cb);
}

SV *
aef_xs_timer (pTHX_ NV after, CV *cb)
{
  return aef_xs_watch__ (aTHX_ "AE::timer", sv_2mortal (newSVnv (after)), sv_2mortal (newSViv (0)), cb);
}

SV **
aef_xs_push_av (pTHX_ SV **sp, AV *av)
{
  SSize_t i, n = av_len (av) + 1;

  EXTEND (sp, n);
  for (i = 0; i < n; i++)
    PUSHs (*av_fetch (av, i, 0));
  return sp;
}

SV *
aef_xs_obj_new (pTHX_ HV *stash, const MGVTBL *vtbl, void *ptr)
{
  SV *obj = newSV_type (SVt_PVMG);

  sv_magicext (obj, NULL, PERL_MAGIC_ext, vtbl, (char *)ptr, 0);
  return sv_bless (newRV_noinc (obj), stash);
}

MAGIC *
aef_xs_magic (pTHX_ SV *sv, const MGVTBL *vtbl)
{
  return SvTYPE (sv) >= SVt_PVMG ? mg_findext (sv, PERL_MAGIC_ext, vtbl) : NULL;
}

void *
aef_xs_obj_ptr (pTHX_ SV *obj, const MGVTBL *vtbl)
{
  MAGIC *mg = SvROK (obj) ? aef_xs_magic (aTHX_ SvRV (obj), vtbl) : NULL;

  return mg ? (void *)mg->mg_ptr : NULL;
}

SV *
aef_xs_strerror (pTHX_ int err)
{
  /* what reading $! gives: Strerror's text on older perls, and on newer
   * ones the text perl's locale rules choose for $! */
  SV *bang = get_sv ("!", GV_ADD);
  int saved = errno;
  const char *s;
  STRLEN len;
  SV *text;

  errno = err;
  s = SvPV (bang, len);
  text = newSVpvn (s, len);
  errno = saved;
  return sv_2mortal (text);
}

pid_t
aef_xs_fork (pTHX_ int flush)
{
  sigset_t all, old;
  pid_t pid;
  int err;

  if (flush)
    PERL_FLUSHALL_FOR_CHILD;
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &old);
  pid = fork ();
  err = errno;
  if (pid == 0)
    {
      int sig;

      /* written only where set: after the fork each first write to a
         page is a copy-on-write fault, and these are nearly always 0 */
      if (PL_sig_pending)
        PL_sig_pending = 0;
      if (PL_psig_pend)
        for (sig = 1; sig < SIG_SIZE; sig++)
          if (PL_psig_pend[sig])
            PL_psig_pend[sig] = 0;
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  errno = err;
  return pid;
}
