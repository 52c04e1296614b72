/*
 * Core.xs - thin Perl glue over the C core in c/.
 *
 * Rules: arguments are checked and converted first (croak only there), the
 * core is called after the last possible croak, failures come back to Perl
 * the way perl's own builtins report them (false/empty list with $! set),
 * and Perl code is only ever called under G_EVAL. Each area's glue is its
 * own compilation unit: xs/AREA.c (the C code), xs/AREA.h (what it
 * declares), xs/AREA.xsh (its XSUBs, INCLUDEd below) and, when it has
 * types of its own, xs/AREA.typemap. Shared helpers are in xs/util.c.
 */
#include "util.h"
#include "fork.h"
#include "serve.h"
#include "rpc_codec.h"
#include "rpc_parent.h"
#include "rpc_child.h"
#include "pool.h"
#include "svc.h"
#include "task.h"
#include "closure.h"
#include "fastexit.h"

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

INCLUDE: fork.xsh

INCLUDE: serve.xsh

INCLUDE: rpc_codec.xsh

INCLUDE: rpc_parent.xsh

INCLUDE: rpc_child.xsh

INCLUDE: pool.xsh

INCLUDE: closure.xsh

INCLUDE: fastexit.xsh

INCLUDE: svc.xsh

INCLUDE: task.xsh
