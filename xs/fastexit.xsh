# The exit hook of forked children (see xs/fastexit.c):
#
#   $was_on = AnyEvent::Fork::Core::fast_exit ([$on])
#   $early  = AnyEvent::Fork::Core::fast_exit_early ()

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

int
fast_exit (int on = -1)
  CODE:
  RETVAL = aef_xs_fastexit_set (on);
  OUTPUT: RETVAL

int
fast_exit_early ()
  CODE:
  RETVAL = aef_xs_fastexit_early_ok (aTHX);
  OUTPUT: RETVAL
