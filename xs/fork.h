/*
 * fork.h - glue of AnyEvent::Fork's descriptor and process primitives
 * (fork.c; XSUBs in fork.xsh).
 */
#ifndef AEF_XS_FORK_H
#define AEF_XS_FORK_H

#include "util.h"

/* Run path with the strings of argv and envp (stringified first: this may
 * croak, nothing is allocated before) in a new process that keeps
 * descriptor keep (as_stdio: that has it as its descriptors 0 and 1
 * instead). The pid, or -1 with errno set. */
IV aef_xs_spawn(pTHX_ SV *path, AV *argv, AV *envp, int keep, int as_stdio);

#endif
