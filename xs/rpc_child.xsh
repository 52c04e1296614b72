# The worker side of AnyEvent::Fork::RPC (XSUBs; the C part is
# rpc_child.c), called by lib/AnyEvent/Fork/RPC/Sync.pm and Async.pm.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core

PROTOTYPES: DISABLE

void
flush_stdout ()
  CODE:
  aef_xs_flush_stdout (aTHX);

void
sync_serve (int rfd, int wfd, UV rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw)
  CODE:
  aef_xs_sync_serve (aTHX_ rfd, wfd, rlen, func, serialiser, freeze, thaw);

void
sync_event (...)
  CODE:
  aef_xs_sync_event (aTHX_ &ST (0), items);

void
sync_exit ()
  CODE:
  aef_xs_sync_exit (aTHX);

void
async_start (SV *rfh, SV *wfh, UV rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw, SV *done, SV *fail)
  CODE:
  aef_xs_async_start (aTHX_ rfh, wfh, rlen, func, serialiser, freeze, thaw, done, fail);

void
async_event (...)
  CODE:
  aef_xs_async_event (aTHX_ &ST (0), items);

int
async_flush ()
  CODE:
  RETVAL = aef_xs_async_flush (aTHX);
  OUTPUT: RETVAL
