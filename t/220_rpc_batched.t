# Requests queued by a result callback (as a pool refills its workers) are
# written together just before the event loop waits, under EV; elsewhere at
# once. Either way they must arrive: also when the callback itself waits
# for their results in a nested loop, when the object is dropped right
# after queuing them, and $@ is left as the caller had it.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

sub worker {
   AnyEvent::Fork->new->eval (q{ sub run { "re-$_[0]" } })->AnyEvent::Fork::RPC::run ("run", @_);
}

# a result callback queues three requests; they are all answered, in order
{
   my $rpc = worker ();
   my (@log, $done);
   my $cv = AE::cv;
   $rpc->("first", sub {
      push @log, @_;
      $rpc->("next$_", sub { push @log, @_; $cv->send if $_[0] eq "re-next3" }) for 1 .. 3;
   });
   $cv->recv;
   is_deeply \@log, [qw(re-first re-next1 re-next2 re-next3)], "requests queued by a result callback are answered, in order";
}

# a result callback that runs the loop itself (AnyEvent forbids a nested
# condvar wait, the loops allow it) until the result of a request it queued
# is there
{
   my $rpc = worker ();
   my $cv = AE::cv;
   my $inner;
   my $one = $AnyEvent::MODEL eq "AnyEvent::Impl::EV"
      ? sub { EV::run (EV::RUN_ONCE ()) }
      : sub { AnyEvent::Loop::one_event () };
   $rpc->("outer", sub {
      $rpc->("inner", sub { $inner = $_[0] });
      $one->() until defined $inner;
      $cv->send ($_[0]);
   });
   is $cv->recv, "re-outer", "the outer result arrives";
   is $inner, "re-inner", "a callback waiting in a nested loop for a request it queued gets its result";
}

# the object dropped by the callback right after it queued a request: the
# request is still written before the socket is shut down
{
   my $rpc = worker (on_destroy => my $gone = AE::cv);
   my $cv = AE::cv;
   my $last;
   $rpc->("one", sub {
      $rpc->("two", sub { $last = $_[0] });
      undef $rpc;
   });
   $gone->recv;
   is $last, "re-two", "a request queued just before the object is dropped is still answered";
}

# $@ is left alone by a call from a result callback
{
   my $rpc = worker ();
   my $cv = AE::cv;
   my $err;
   $rpc->("a", sub {
      eval { die "kept\n" };
      $rpc->("b", sub { $cv->send });
      $err = $@;
   });
   $cv->recv;
   is $err, "kept\n", "\$@ survives a request queued from a result callback";
}

done_testing;
