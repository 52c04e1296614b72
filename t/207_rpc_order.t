# Events and responses reach the parent in exactly the order the child
# produced them, for both backends; asynchronous requests may complete in
# any order and each response still finds its callback (by its request id).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $N = 300;

# Sync: request i sends i % 4 events, then returns; all queued at once
{
   my (@log, @errors);
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub run { my ($i) = @_; AnyEvent::Fork::RPC::event ("e$i.$_") for 1 .. $i % 4; "r$i" }')
      ->AnyEvent::Fork::RPC::run ("run",
           on_event   => sub { push @log, @_ },
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => $done,
        );

   $rpc->($_, sub { push @log, @_ }) for 1 .. $N;
   undef $rpc;
   $done->recv;

   is_deeply \@log, [map { my $i = $_; ((map "e$i.$_", 1 .. $i % 4), "r$i") } 1 .. $N],
      "sync: $N requests, events and results in program order";
   is_deeply \@errors, [], "sync: no error";
}

# Async: the child holds every request until the last one has arrived, then
# completes them backwards; each completion is framed by two events
{
   my (@log, @errors);
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
         my @held;
         sub run {
            my ($done, $i, $n) = @_;
            AnyEvent::Fork::RPC::event ("got $i");
            push @held, [$done, $i];
            if (@held == $n) {
               for (reverse @held) {
                  my ($d, $j) = @$_;
                  AnyEvent::Fork::RPC::event ("pre $j");
                  $d->("r$j");
                  AnyEvent::Fork::RPC::event ("post $j");
               }
               @held = ();
            }
         }
      })
      ->AnyEvent::Fork::RPC::run ("run",
           async      => 1,
           on_event   => sub { push @log, @_ },
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => $done,
        );

   my %answered;
   $rpc->($_, $N, do { my $i = $_; sub { ++$answered{$i}; push @log, "$_[0] for $i" } }) for 1 .. $N;
   undef $rpc;
   $done->recv;

   is_deeply \@log, [
      (map "got $_", 1 .. $N),
      (map +("pre $_", "r$_ for $_", "post $_"), reverse 1 .. $N),
   ], "async: completed backwards, each result reaches its own callback, events in order";
   is scalar (grep $_ == 1, values %answered), $N, "async: every callback exactly once";
   is_deeply \@errors, [], "async: no error";
}

done_testing;
