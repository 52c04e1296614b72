/* util.c - helpers shared by the glue units (see util.h). */
#include "util.h"

#include <limits.h>

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

SV *
aef_xs_strerror (pTHX_ int err)
{
  SV *e = sv_string_from_errnum (err, NULL);

  return sv_2mortal (newSVpvn (SvPVX (e), SvCUR (e)));
}
