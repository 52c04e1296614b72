/*
 * util.h - what every glue unit shares (defined in util.c). Each xs/*.c
 * and xs/Core.xs includes this header first: it brings perl's headers.
 */
#ifndef AEF_XS_UTIL_H
#define AEF_XS_UTIL_H

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"
#include "ppport.h"

#include <errno.h>

#include "aef.h"

/* typemap T_AEF_FD: a descriptor argument */
typedef int aef_fd;

/* A descriptor argument: an open Perl file handle (glob, glob ref, IO
 * object) or a non-negative integer. Croaks on anything else, naming what. */
int aef_xs_fd(pTHX_ SV *sv, const char *what);

/* Report a core failure the way perl's builtins do: set $! (errno). */
#define AEF_XS_ERRNO(rc) (errno = -(rc))

/* $@ is set: a Perl call died */
#define AEF_XS_DIED (SvTRUE (ERRSV))

/* Call cb with one argument (or none when arg is NULL) under G_EVAL,
 * discarding results. 0, or -1 when it died ($@ set). */
int aef_xs_call1(pTHX_ SV *cb, SV *arg);

/* Rethrow the pending $@ (a copy: what runs until the croak may reset $@).
 * Only from an XSUB entered from Perl, after every C frame is consistent. */
void aef_xs_rethrow(pTHX);

/* $w = AE::io $fh, $poll, $cb (cb: an XSUB made with newXS). The watcher
 * (a new reference), or NULL with $@ set when that died. */
SV *aef_xs_io(pTHX_ SV *fh, int poll, CV *cb);

/* $w = AE::timer $after, 0, $cb (cb as for aef_xs_io): a one-shot timer,
 * or NULL with $@ set. */
SV *aef_xs_timer(pTHX_ NV after, CV *cb);

/* Push the elements of av (which must stay alive until the XSUB returns,
 * e.g. mortal) onto the stack at sp, extending it; the new stack pointer.
 * In PPCODE: SP = aef_xs_push_av (aTHX_ SP, av); */
SV **aef_xs_push_av(pTHX_ SV **sp, AV *av);

/* fork(2) as perl's fork does: perl's handles flushed first (when flush
 * is set), every signal blocked around the call, and in the child the
 * signals perl had noted as pending forgotten. Returns what fork returns,
 * with fork's errno. */
pid_t aef_xs_fork(pTHX_ int flush);

/* Objects: a Perl object owns its C struct through ext magic on the
 * scalar it refers to. The address of the kind's MGVTBL is what tells its
 * objects from everything else (other kinds, forged blessed references);
 * the vtable's free hook releases the struct. */

/* A new reference, blessed into stash, to a new scalar whose ext magic
 * carries vtbl and ptr (owned from then on by the vtable's free hook). */
SV *aef_xs_obj_new(pTHX_ HV *stash, const MGVTBL *vtbl, void *ptr);

/* The ext magic with vtbl on sv, or NULL. */
MAGIC *aef_xs_magic(pTHX_ SV *sv, const MGVTBL *vtbl);

/* The struct behind obj when it is a reference made by aef_xs_obj_new with
 * vtbl, else NULL (also when the free hook has released it). */
void *aef_xs_obj_ptr(pTHX_ SV *obj, const MGVTBL *vtbl);

/* "$!" for errno value err, as a new mortal plain string (errno is kept). */
SV *aef_xs_strerror(pTHX_ int err);

#endif
