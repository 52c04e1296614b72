# Dropping the RPC object: requests still outstanding are answered, then the
# child exits and on_destroy fires exactly once.
# Also before the connection exists: calls are queued and the shutdown is
# performed once it is there.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

# A fork object that passes everything to a real one, but connects late:
# the run callback is called from a timer after the RPC object was used.
{
   package LateFork;

   sub new      { my ($class, $fork) = @_; bless { fork => $fork }, $class }
   sub eval     { my $self = shift; $self->{fork}->eval (@_); $self }
   sub send_arg { my $self = shift; $self->{fork}->send_arg (@_); $self }
   sub run {
      my ($self, $func, $cb) = @_;
      $self->{fork}->run ($func, sub {
         my @fh = @_;
         $main::connected = 1;
         my $t; $t = AE::timer 0.05, 0, sub { undef $t; $cb->(@fh) };
      });
   }
}

my $code = q{
   use AnyEvent;
   sub sync  { select undef, undef, undef, 0.01; "r$_[0]" }
   sub async { my ($done, $i) = @_; my $t; $t = AE::timer 0.01, 0, sub { undef $t; $done->("r$i") } }
};

for my $async (0, 1) {
   for my $late (0, 1) {
      my $what = ($async ? "async" : "sync") . ($late ? ", connected late" : "");

      my (@results, $destroyed, @errors);
      my $done = AE::cv;
      our $connected = 0;

      my $fork = AnyEvent::Fork->new->eval ($code);
      $fork = LateFork->new ($fork) if $late;

      my $rpc = $fork->AnyEvent::Fork::RPC::run ($async ? "async" : "sync",
         async      => $async,
         on_error   => sub { push @errors, @_; $done->send },
         on_destroy => sub { ++$destroyed; $done->send },
      );

      $rpc->($_, sub { push @results, @_ }) for 1 .. 5;
      ok !$connected, "$what: called before the connection exists";
      undef $rpc;
      ok !$destroyed && !@results, "$what: dropped, nothing answered yet";

      $done->recv;

      # (async: completion order is up to the child's timers)
      @results = sort @results if $async;
      is_deeply \@results, [map "r$_", 1 .. 5], "$what: all outstanding requests answered";
      is $destroyed, 1, "$what: then on_destroy, once";
      is_deeply \@errors, [], "$what: no error";
   }
}

# destroyed before the connection exists, nothing ever called
{
   my ($destroyed, @errors);
   my $done = AE::cv;

   my $rpc = LateFork
      ->new (AnyEvent::Fork->new->eval ($code))
      ->AnyEvent::Fork::RPC::run ("sync",
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => sub { ++$destroyed; $done->send },
        );
   undef $rpc;
   $done->recv;
   is $destroyed, 1, "never called, dropped before connecting: on_destroy";
   is_deeply \@errors, [], "no error";
}

done_testing;
