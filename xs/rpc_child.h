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
 * serialiser is the serialiser's text, freeze / thaw what it evaluated to.
 * Croaks with the function's error, or on a response too large, a request
 * that cannot be buffered or a write error. */
void aef_xs_sync_serve(pTHX_ int rfd, int wfd, UV rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw);

/* Sync: send an event now (behind the queued responses). Croaks. */
void aef_xs_sync_event(pTHX_ SV **args, I32 n);

/* Sync: at exit, write what is still queued when this process runs the loop. */
void aef_xs_sync_exit(pTHX);

/* Async: start serving on the handles rfh / wfh (made non-blocking) under
 * the caller's AnyEvent loop: a read watcher calls func ($done, @args) for
 * every request, a write watcher sends what the done-callbacks and events
 * queue. Once the parent has closed its side and everything is answered
 * and written, perl's STDOUT is flushed, wfh half-closed and done called
 * (no arguments). A read or write error stops both watchers and calls
 * fail with its text. Croaks when already started or when AnyEvent dies. */
void aef_xs_async_start(pTHX_ SV *rfh, SV *wfh, UV rlen, SV *func, SV *serialiser, SV *freeze,
                        SV *thaw, SV *done, SV *fail);

/* Async: queue an event. Croaks. */
void aef_xs_async_event(pTHX_ SV **args, I32 n);

/* Async: write everything now. 1, or 0 on a write error. */
int aef_xs_async_flush(pTHX);

#endif
