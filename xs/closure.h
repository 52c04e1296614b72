/*
 * closure.h - keep queued anonymous closures off their package's list of
 * back references (see closure.c for why and when).
 *
 * Contract:
 *  - aef_xs_closure_detach (sv, owned, outer): sv is a code reference (or
 *    a code value) just handed to us; owned is the number of references
 *    to the code that the caller holds itself (already counted in its
 *    reference count). Detaches the code from its package when it is an
 *    anonymous clone that nothing but the caller and the temporaries of
 *    one statement refer to, and it is still the last entry of the
 *    package's list. That statement is the one being run (outer 0: an
 *    XSUB called by the statement that made the closure), or the one that
 *    called the innermost Perl sub being run (outer 1: a Perl sub such
 *    as a pool's calls us). Returns 1 when it detached, else 0 (nothing
 *    changed). Never croaks, calls no Perl.
 *  - aef_xs_closure_attach (sv): undoes a detach before the code is called
 *    or dropped; a no-op for anything that is not detached code. Never
 *    croaks, calls no Perl.
 */
#ifndef AEF_XS_CLOSURE_H
#define AEF_XS_CLOSURE_H

#include "util.h"

int aef_xs_closure_detach (pTHX_ SV *sv, IV owned, int outer);
void aef_xs_closure_attach (pTHX_ SV *sv);

#endif
