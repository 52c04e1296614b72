# The worker side of AnyEvent::Fork::RPC (XSUBs; the C part is
# rpc_child.c), called by lib/AnyEvent/Fork/RPC/Sync.pm and Async.pm.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core

PROTOTYPES: DISABLE

void
flush_stdout ()
  CODE:
  aef_xs_flush_stdout (aTHX);

void
sync_serve (int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw)
  CODE:
  aef_xs_sync_serve (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw);

void
sync_event (...)
  CODE:
  aef_xs_sync_event (aTHX_ &ST (0), items);

void
sync_exit ()
  CODE:
  aef_xs_sync_exit (aTHX);

void
async_setup (int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw, SV *arm)
  CODE:
  aef_xs_async_setup (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw, arm);

int
async_read ()
  CODE:
  RETVAL = aef_xs_async_read (aTHX);
  OUTPUT: RETVAL

IV
async_write ()
  CODE:
  RETVAL = aef_xs_async_write (aTHX);
  OUTPUT: RETVAL

void
async_arm ()
  CODE:
  aef_xs_async_arm (aTHX);

void
async_event (...)
  CODE:
  aef_xs_async_event (aTHX_ &ST (0), items);

int
async_flush ()
  CODE:
  RETVAL = aef_xs_async_flush (aTHX);
  OUTPUT: RETVAL

IV
async_busy (IV delta = 0)
  CODE:
  RETVAL = aef_xs_async_busy (aTHX_ delta);
  OUTPUT: RETVAL
