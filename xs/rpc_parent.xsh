# The parent side of AnyEvent::Fork::RPC (XSUBs; the C part is
# rpc_parent.c).

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core

PROTOTYPES: DISABLE

SV *
new (const char *klass, int async, UV rlen, SV *serialiser, SV *freeze, SV *thaw, SV *on_event, SV *on_error, SV *on_destroy)
  CODE:
  RETVAL = aef_xs_rpc_new (aTHX_ klass, async, rlen, serialiser, freeze, thaw, on_event, on_error, on_destroy);
  OUTPUT: RETVAL

void
connect (aef_xs_rpc *st, SV *fh)
  CODE:
  aef_xs_rpc_connect (aTHX_ st, fh);

SV *
rpc (aef_xs_rpc *st)
  CODE:
  RETVAL = aef_xs_rpc_closure (aTHX_ st);
  OUTPUT: RETVAL

void
DESTROY (SV *self)
  CODE:
  aef_xs_rpc_destroy (aTHX_ self);
