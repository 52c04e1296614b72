# The exit hook of forked children (see xs/fastexit.c):
#
#   $was_on = AnyEvent::Fork::Core::fast_exit ([$on])

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

int
fast_exit (int on = -1)
  CODE:
  RETVAL = aef_xs_fastexit_set (on);
  OUTPUT: RETVAL
