/* fork.c - glue of AnyEvent::Fork's process primitives (see fork.h). */
#include "util.h"
#include "fork.h"

IV
aef_xs_spawn (pTHX_ SV *path, AV *argv, AV *envp, int keep, int as_stdio)
{
  const char *cpath = SvPVbyte_nolen (path);
  SSize_t nargv = av_len (argv) + 1, nenv = av_len (envp) + 1, i;
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

  rc = as_stdio
     ? aef_spawn_stdio (&pid, cpath, cargv, cenv, keep)
     : aef_spawn (&pid, cpath, cargv, cenv, &keep, 1);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      return -1;
    }

  return pid;
}
