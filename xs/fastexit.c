/*
 * fastexit.c - a quicker exit for processes forked from a template.
 *
 * After the END blocks, perl's exit destroys the remaining objects (global
 * destruction: it walks every scalar and writes to every glob), frees the
 * main program, calls the functions registered with perl_atexit, and then
 * C's exit() runs the C atexit handlers and the destructors of every loaded
 * shared library. In a child forked from a template most of that only
 * undoes, page by page (each a copy-on-write fault), state the template set
 * up and still owns. So a forked child ends its exit early, flushing every
 * Perl handle and stdio stream and calling _exit with perl's exit status:
 *
 *  - right after the END blocks (perl's thread hook, the first thing
 *    perl_destruct calls after them), when global destruction would have
 *    nothing to do that anybody can see: no live object whose class has a
 *    DESTROY method that does something (or an AUTOLOAD, which perl would
 *    call instead; an empty sub DESTROY {} and perl's no-op Regexp::DESTROY
 *    do nothing), no handle opened to or from a process (perl would wait
 *    for it), and no perl_atexit function but ours;
 *  - otherwise after global destruction, as the last perl_atexit function.
 *
 * What changes for the child: C atexit handlers and library destructors of
 * other XS modules do not run in it (their Perl-level END blocks and
 * DESTROY methods still do). It can be turned off with the environment
 * variable PERL_ANYEVENT_FORK_FAST_EXIT=0 (read in each new child) or with
 * AnyEvent::Fork::Core::fast_exit (0) in the template or the child.
 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastexit.h"

static int aef_xs_fastexit_on__ = 1;
static pid_t aef_xs_fastexit_pid__; /* the process the hook was armed in */
static thrhook_proc_t aef_xs_fastexit_next__; /* the thread hook we replaced */

/* the hooks act only when on and in the process they were armed in (not in
 * a fork of the child: that one exits perl's own way) */
#define ARMED__ (aef_xs_fastexit_on__ && getpid () == aef_xs_fastexit_pid__)

static void
aef_xs_fastexit_now__ (pTHX)
{
  PerlIO_flush ((PerlIO *)NULL); /* every Perl handle */
  fflush (NULL);                 /* and stdio, for C code that used it */
  _exit (STATUS_EXIT);
}

/* perl_atexit function: runs after END blocks and global destruction */
static void
aef_xs_fastexit__ (pTHX_ void *arg)
{
  PERL_UNUSED_ARG (arg);

  if (ARMED__)
    aef_xs_fastexit_now__ (aTHX);
}

#ifndef CvISXSUB
# define CvISXSUB(cv) (CvXSUB (cv) != NULL) /* perl < 5.9.4 */
#endif

/* a method that does nothing: an empty Perl sub (sub DESTROY {}, as
 * IO::Handle's) or perl's own no-op XSUB Regexp::DESTROY */
static int
aef_xs_fastexit_noop__ (pTHX_ CV *cv)
{
  OP *root, *first;

  if (CvISXSUB (cv))
    {
      CV *re = get_cv ("Regexp::DESTROY", 0);

      return re && CvISXSUB (re) && CvXSUB (re) == CvXSUB (cv);
    }

  root = CvROOT (cv);
  if (!root || root->op_type != OP_LEAVESUB)
    return 0;
  first = cUNOPx (root)->op_first;
  return first && (first->op_type == OP_NEXTSTATE || first->op_type == OP_DBSTATE)
         && !OpHAS_SIBLING (first);
}

/* does global destruction have a DESTROY (or AUTOLOAD) that does
 * something to call for an object of this class? (perl's method lookup,
 * level -1: it adds no entries to the method caches of the stashes;
 * anonymous stashes have none) */
static int
aef_xs_fastexit_destroys__ (pTHX_ HV *stash)
{
  GV *gv;

  if (!stash || !HvNAME_get (stash))
    return 0;
  gv = gv_fetchmeth (stash, "DESTROY", 7, -1);
  if (gv && GvCV (gv))
    return !aef_xs_fastexit_noop__ (aTHX_ GvCV (gv));
  gv = gv_fetchmeth (stash, "AUTOLOAD", 8, -1);
  return gv && GvCV (gv);
}

int
aef_xs_fastexit_early_ok (pTHX)
{
  HV *seen[8]; /* classes already found without DESTROY */
  int nseen = 0, i;
  SV *sva;
  SSize_t fd;

  if (PL_exitlistlen > 1
      || (PL_exitlistlen == 1 && PL_exitlist[0].fn != aef_xs_fastexit__))
    return 0;

  /* a handle opened to or from a process: perl waits for it when it
   * closes the handle */
  for (fd = 0; PL_fdpid && fd <= AvFILLp (PL_fdpid); fd++)
    {
      SV *pid = AvARRAY (PL_fdpid)[fd];

      if (pid && SvTYPE (pid) == SVt_IV && SvIVX (pid) > 0)
        return 0;
    }

  /* every live object, as global destruction finds them (this only reads
   * the arenas) */
  for (sva = PL_sv_arenaroot; sva; sva = (SV *)SvANY (sva))
    {
      SV *sv, *end = &sva[SvREFCNT (sva)];

      for (sv = sva + 1; sv < end; sv++)
        {
          HV *stash;

          if (SvTYPE (sv) == (svtype)SVTYPEMASK || !SvOBJECT (sv) || !SvREFCNT (sv))
            continue;

          stash = SvSTASH (sv);
          for (i = 0; i < nseen && seen[i] != stash; i++)
            ;
          if (i < nseen)
            continue;
          if (aef_xs_fastexit_destroys__ (aTHX_ stash))
            return 0;
          if (nseen < (int)(sizeof seen / sizeof *seen))
            seen[nseen++] = stash;
        }
    }

  return 1;
}

/* perl's thread hook: perl_destruct calls it right after the END blocks
 * and its flush of every handle, before global destruction. The hook it
 * replaced (threads.pm has one, which keeps perl's exit as it is while
 * threads run) decides first. */
static int
aef_xs_fastexit_early__ (pTHX)
{
  int veto = aef_xs_fastexit_next__ (aTHX);

  if (!veto && ARMED__ && aef_xs_fastexit_early_ok (aTHX))
    aef_xs_fastexit_now__ (aTHX);

  return veto;
}

void
aef_xs_fastexit_arm (pTHX)
{
  const char *env = getenv ("PERL_ANYEVENT_FORK_FAST_EXIT");

  if (env && !strcmp (env, "0"))
    aef_xs_fastexit_on__ = 0;
  if (!aef_xs_fastexit_on__ || aef_xs_fastexit_pid__ == getpid ())
    return;

  /* perl calls these in reverse order of registration: registered in the
   * child's first moments, this one runs after every other */
  aef_xs_fastexit_pid__ = getpid ();
  perl_atexit (aef_xs_fastexit__, NULL);

  /* (a child forked by a child inherits the hook, and what it replaced) */
  if (PL_threadhook != aef_xs_fastexit_early__)
    {
      aef_xs_fastexit_next__ = PL_threadhook;
      PL_threadhook = aef_xs_fastexit_early__;
    }
}

int
aef_xs_fastexit_set (int on)
{
  int old = aef_xs_fastexit_on__;

  if (on >= 0)
    aef_xs_fastexit_on__ = on != 0;
  return old;
}
