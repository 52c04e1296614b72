# Queued closures off their package's back-reference list (see
# xs/closure.c): for queues kept in Perl (AnyEvent::Fork::Pool).
#
#   $detached = AnyEvent::Fork::Core::closure_detach ($code, $owned)
#                                 from a Perl sub that got $code from its
#                                 caller's statement; $owned: references the
#                                 sub holds itself
#   AnyEvent::Fork::Core::closure_attach ($code)
#                                 before calling or dropping it

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

int
closure_detach (SV *code, IV owned)
  CODE:
  RETVAL = aef_xs_closure_detach (aTHX_ code, owned, 1);
  OUTPUT: RETVAL

void
closure_attach (SV *code)
  CODE:
  aef_xs_closure_attach (aTHX_ code);
