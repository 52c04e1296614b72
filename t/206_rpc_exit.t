# A child function that sends an event, flushes and exits: the
# parent gets the event before on_error reports the lost request, for both
# backends. Sync: responses to earlier requests are not lost either.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my (@log, $destroyed);
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ($async
         ? 'sub run { my $done = shift; AnyEvent::Fork::RPC::event (1); $main::flushed = AnyEvent::Fork::RPC::flush (); exit 2 }'
         : 'sub run {                   AnyEvent::Fork::RPC::event (1); $main::flushed = AnyEvent::Fork::RPC::flush (); exit 2 }')
      ->AnyEvent::Fork::RPC::run ("run",
           async      => $async,
           on_event   => sub { push @log, "event @_" },
           on_error   => sub { push @log, "error @_"; $done->send },
           on_destroy => sub { ++$destroyed; $done->send },
        );

   $rpc->(sub { push @log, "result @_" });
   $done->recv;

   is_deeply \@log, ["event 1", "error unexpected eof"], "$what: event, then unexpected eof";
   ok !$destroyed, "$what: no on_destroy";
}

# Sync: earlier requests' responses still arrive when a later request exits
{
   my @log;
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub run { exit 2 if $_[0] eq "exit"; "r$_[0]" }')
      ->AnyEvent::Fork::RPC::run ("run",
           on_error   => sub { push @log, "error @_"; $done->send },
           on_destroy => sub { push @log, "destroy"; $done->send },
        );

   $rpc->($_, sub { push @log, "result @_" }) for "a", "b", "exit", "c";
   $done->recv;

   is_deeply \@log, ["result ra", "result rb", "error unexpected eof"],
      "sync: answered requests arrive before the one that exits";
}

# Sync: a process forked inside the function that exits (running END
# blocks) does not send the worker's queued responses a second time
{
   my @log;
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub run { if ($_[0] eq "fork") { my $pid = fork; exit 0 unless $pid; waitpid $pid, 0 } "r$_[0]" }')
      ->AnyEvent::Fork::RPC::run ("run",
           on_error   => sub { push @log, "error @_"; $done->send },
           on_destroy => sub { push @log, "destroy"; $done->send },
        );

   $rpc->($_, sub { push @log, "result @_" }) for "a", "b", "fork", "c";
   undef $rpc;
   $done->recv;

   is_deeply \@log, ["result ra", "result rb", "result rfork", "result rc", "destroy"],
      "sync: a fork of the worker exiting does not repeat its responses";
}

done_testing;
