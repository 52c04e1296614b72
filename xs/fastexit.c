/*
 * fastexit.c - a quicker exit for processes forked from a template.
 *
 * When perl has run the END blocks, destroyed the remaining objects and
 * called the functions registered with perl_atexit (global destruction),
 * what is left of its exit is C's exit(): the C atexit handlers and the
 * destructors of every loaded shared library, stdio's flush, and perl's
 * own last teardown. In a child forked from a template those only undo,
 * page by page (each a copy-on-write fault), state the template set up and
 * still owns. So a forked child registers, as the very last perl_atexit
 * function, a hook that flushes every Perl handle and stdio stream and
 * ends the process with _exit and perl's exit status.
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

/* perl_atexit function: runs after END blocks and global destruction */
static void
aef_xs_fastexit__ (pTHX_ void *arg)
{
  PERL_UNUSED_ARG (arg);

  if (!aef_xs_fastexit_on__ || getpid () != aef_xs_fastexit_pid__)
    return; /* off, or a fork of the child: perl's own exit */

  PerlIO_flush ((PerlIO *)NULL); /* every Perl handle */
  fflush (NULL);                 /* and stdio, for C code that used it */
  _exit (STATUS_EXIT);
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
}

int
aef_xs_fastexit_set (int on)
{
  int old = aef_xs_fastexit_on__;

  if (on >= 0)
    aef_xs_fastexit_on__ = on != 0;
  return old;
}
