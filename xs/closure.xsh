# Queued closures off their package's back-reference list (see
# xs/closure.c): for queues kept in Perl (AnyEvent::Fork::Pool).
#
#   $detached = AnyEvent::Fork::Core::closure_detach ($code, $owned)
#                                 $owned: references the caller holds itself
#   AnyEvent::Fork::Core::closure_attach ($code)
#                                 before calling or dropping it

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

int
closure_detach (SV *code, IV owned)
  CODE:
  RETVAL = aef_xs_closure_detach (aTHX_ code, owned);
  OUTPUT: RETVAL

void
closure_attach (SV *code)
  CODE:
  aef_xs_closure_attach (aTHX_ code);
