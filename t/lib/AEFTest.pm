package AEFTest;

=head1 NAME

AEFTest - run a multi-process test in its own process group, under a watchdog

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFTest;                 # first, before anything forks
   use AEFTest timeout => 120;  # seconds, default 60 (scaled by AEF_TEST_TIMEOUT_SCALE)

=head1 DESCRIPTION

At C<use> time the test process forks. The child puts itself into a new
process group and runs the test; the parent stays behind as a supervisor
that loads nothing. When the child exits, the supervisor kills whatever is
left of the group (stray workers and templates) and exits with the child's
status. When the timeout expires first, it prints a failing TAP line, kills
the whole group with SIGKILL and exits non-zero, so a hang can never stall
the suite.

When C<PERL_ANYEVENT_MODEL> names an event loop that does not load (EV
not installed), the test is skipped: there is nothing to test under it.

The supervisor is the process the harness started, so C<$$> in the test is
not the harness's child; nothing in the tests depends on that.

=cut

use strict;
use warnings;
use POSIX ();

sub import {
   my (undef, %opt) = @_;
   return if $ENV{AEF_TEST_SUPERVISED}; # already inside a supervised test

   # an event loop asked for (PERL_ANYEVENT_MODEL) that is not installed:
   # AnyEvent would fall back to another one, warning in every process
   my $model = $ENV{PERL_ANYEVENT_MODEL};
   if (defined $model && $model =~ /\A\w+\z/
       && system ($^X, "-e", "close STDERR; require AnyEvent; require AnyEvent::Impl::$model") != 0) {
      $| = 1;
      print "1..0 # SKIP PERL_ANYEVENT_MODEL=$model, but AnyEvent::Impl::$model does not load\n";
      POSIX::_exit (0);
   }

   my $timeout = ($opt{timeout} || 60) * ($ENV{AEF_TEST_TIMEOUT_SCALE} || 1);

   $| = 1;
   my $pid = fork;
   die "AEFTest: fork failed: $!\n" unless defined $pid;

   if (!$pid) {
      POSIX::setpgid (0, 0);
      $ENV{AEF_TEST_SUPERVISED} = 1;
      return;
   }

   setpgrp $pid, $pid; # also from here, so no race with the first fork below

   my $status;
   local $SIG{ALRM} = sub {
      print "not ok 999 - test timed out after ${timeout}s, killing its process group\n";
      kill KILL => -$pid;
      waitpid $pid, 0;
      POSIX::_exit (1);
   };
   alarm $timeout;
   1 until waitpid ($pid, 0) == $pid;
   $status = $?;
   alarm 0;

   kill KILL => -$pid; # leftovers of the group
   POSIX::_exit ($status & 127 ? 128 + ($status & 127) : $status >> 8);
}

1
