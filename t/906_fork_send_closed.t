# Regression: a handle closed by the caller after ->send_fh but before the
# queue sent it. The write watcher dies with "AnyEvent::Fork: file
# descriptor send failure: Bad file descriptor" inside the event loop (EV
# prints and ignores it, the pure-Perl loop passes it to whoever waits) and
# is gone afterwards: the loop does not run it again and again (a busy
# loop of errors was reported under EV). A command queued later meets the
# same head of the queue: one more error, and the watcher is gone again.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;

my $WANT = qr/^(?:EV: error in callback \(ignoring\): )?AnyEvent::Fork: file descriptor send failure: Bad file descriptor at \S+ line \d+\.\n\z/;

my (@errors, @keep);
$SIG{__WARN__} = sub { push @errors, $_[0] };

# Run the loop until the object's write watcher is gone, collecting an
# exception that leaves the loop (pure-Perl model).
sub until_flushed {
   my ($proc) = @_;
   eval { flush_queue ($proc); 1 } or push @errors, $@;
   flush_queue ($proc); # the watcher died: the queue is not written
}

# Run $n turns of the loop (a chain of zero timers): a watcher left active
# on the writable socket would run in each of them.
sub turns {
   my ($n) = @_;
   my $cv = AE::cv;
   my $t;
   my $turn; $turn = sub { $t = --$n ? AE::timer (0, 0, $turn) : undef; $cv->send unless $n };
   $t = AE::timer 0, 0, $turn;
   eval { $cv->recv; 1 } or push @errors, $@;
}

for my $kind (qw(new new_exec)) {
   @errors = ();
   pipe my $r, my $w or die "pipe: $!";

   # the child waits for a descriptor that never comes: it complains on
   # its STDERR (when the object goes away)
   my ($stderr, $proc) = with_stderr_pipe (sub { AnyEvent::Fork->$kind });
   $proc->send_fh ($r)->send_arg ("after");
   close $r;

   until_flushed ($proc);
   is scalar @errors, 1, "$kind: one error";
   like $errors[0], $WANT, "$kind: the send failure's text ($AnyEvent::MODEL)";
   ok !$proc->[2], "$kind: the write watcher is gone";
   is ref $proc->[0][0], "REF", "$kind: the handle is still at the head of the queue";

   turns (50);
   is scalar @errors, 1, "$kind: nothing runs again in the next 50 turns of the loop";

   $proc->eval ("1");
   until_flushed ($proc);
   turns (50);
   is scalar @errors, 2, "$kind: a later command: one more error, and no more";
   like $errors[1], $WANT, "$kind: the same text";
   ok !$proc->[2], "$kind: the write watcher is gone again";

   push @keep, $stderr; # complaints go there, not into the test output
}

done_testing;
