/*
 * rpc_child.h - the worker side of AnyEvent::Fork::RPC (rpc_child.c;
 * XSUBs in rpc_child.xsh): the Sync backend's loop and the Async
 * backend's reader and writer. One backend per process.
 */
#ifndef AEF_XS_RPC_CHILD_H
#define AEF_XS_RPC_CHILD_H

#include "util.h"

/* Flush perl's STDOUT buffer (before the worker half-closes its socket). */
void aef_xs_flush_stdout(pTHX);

/* Sync: serve requests from rfd, answering on wfd, until end-of-file.
 * Croaks with the function's error, or on a response too large, a request
 * that cannot be buffered or a write error. */
void aef_xs_sync_serve(pTHX_ int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw);

/* Sync: send an event now (behind the queued responses). Croaks. */
void aef_xs_sync_event(pTHX_ SV **args, I32 n);

/* Sync: at exit, write what is still queued when this process runs the loop. */
void aef_xs_sync_exit(pTHX);

/* Async: set up the state; arm is called to create the write watcher. */
void aef_xs_async_setup(pTHX_ int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw, SV *arm);

/* Async: one read, then every complete request. 1 go on, 0 end-of-file,
 * -1 read error (errno). Croaks with the function's error. */
int aef_xs_async_read(pTHX);

/* Async: one write: the octets still pending, or -1 (errno). */
IV aef_xs_async_write(pTHX);

/* Async: make sure the write watcher exists. Croaks. */
void aef_xs_async_arm(pTHX);

/* Async: queue an event. Croaks. */
void aef_xs_async_event(pTHX_ SV **args, I32 n);

/* Async: write everything now. 1, or 0 on a write error. */
int aef_xs_async_flush(pTHX);

/* Async: the busy count (1 + requests not answered), after adding delta. */
IV aef_xs_async_busy(pTHX_ IV delta);

#endif
