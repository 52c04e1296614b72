/*
 * fastexit.h - a quicker exit for processes forked from a template (see
 * fastexit.c).
 *
 * Contract:
 *  - aef_xs_fastexit_arm (): call in a freshly forked child. Registers the
 *    exit hook for this process (once; a later fork of it does not
 *    inherit an armed hook) unless the environment variable
 *    PERL_ANYEVENT_FORK_FAST_EXIT is "0". Never croaks, calls no Perl.
 *    It also installs perl's thread hook (chained after the one it finds:
 *    threads.pm has one), which ends the exit right after the END blocks
 *    when that hook lets perl clean up and aef_xs_fastexit_early_ok () says
 *    so.
 *  - aef_xs_fastexit_early_ok (): whether global destruction, if this
 *    process exited now, would have nothing visible to do: 1 when no live
 *    object's class has a DESTROY method (other than an empty Perl sub or
 *    perl's no-op Regexp::DESTROY) or, lacking one, an AUTOLOAD method, no
 *    handle is open to
 *    or from a process, and no perl_atexit function but the exit hook is
 *    registered; else 0. Only reads the interpreter's state (perl's method
 *    lookup may compute a class's method resolution order, once). Never
 *    croaks.
 *  - aef_xs_fastexit_set (on): on < 0 only reads; else turns the hook of
 *    this process (and of children armed later) on or off. Returns the
 *    previous setting (1 on, 0 off).
 */
#ifndef AEF_XS_FASTEXIT_H
#define AEF_XS_FASTEXIT_H

#include "util.h"

void aef_xs_fastexit_arm (pTHX);
int aef_xs_fastexit_early_ok (pTHX);
int aef_xs_fastexit_set (int on);

#endif
