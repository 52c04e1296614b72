/*
 * fastexit.h - a quicker exit for processes forked from a template (see
 * fastexit.c).
 *
 * Contract:
 *  - aef_xs_fastexit_arm (): call in a freshly forked child. Registers the
 *    exit hook for this process (once; a later fork of it does not
 *    inherit an armed hook) unless the environment variable
 *    PERL_ANYEVENT_FORK_FAST_EXIT is "0". Never croaks, calls no Perl.
 *  - aef_xs_fastexit_set (on): on < 0 only reads; else turns the hook of
 *    this process (and of children armed later) on or off. Returns the
 *    previous setting (1 on, 0 off).
 */
#ifndef AEF_XS_FASTEXIT_H
#define AEF_XS_FASTEXIT_H

#include "util.h"

void aef_xs_fastexit_arm (pTHX);
int aef_xs_fastexit_set (int on);

#endif
