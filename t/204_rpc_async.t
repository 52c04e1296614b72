# The asynchronous backend as the original's own test uses it:
# the backend is also loaded by the user; the function gets the
# done-callback first, emits one event at once and more from timers in the
# child; its result arrives after those events; dropping the RPC object
# lets the child finish and exit, then on_destroy fires.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my (@log, $destroyed, @errors);
my $done = AE::cv;

my $rpc = AnyEvent::Fork
   ->new
   ->require ("AnyEvent::Fork::RPC::Async")
   ->eval (do { local $/; <DATA> })
   ->AnyEvent::Fork::RPC::run ("run",
        async      => 1,
        on_error   => sub { push @errors, @_; $done->send },
        on_event   => sub { push @log, "event @_" },
        on_destroy => sub { ++$destroyed; $done->send },
     );

# one request at a time, so that the order is the function's alone
my $next; $next = sub {
   my ($i) = @_;
   return undef $rpc if $i > 3;
   $rpc->($i, sub { push @log, "result @_"; $next->($i + 1) });
};
$next->(1);

$done->recv;
undef $next;

is_deeply \@log, [
   map +(
      "event first $_ CODE",
      "event timer $_ 1",
      "event timer $_ 2",
      "event timer $_ 3",
      "result done $_ flushed=1",
   ), 1 .. 3
], "done-callback first, events from timers before the result";

is $destroyed, 1, "on_destroy after the RPC object was dropped";
is_deeply \@errors, [], "no error";

done_testing;

__DATA__
use AnyEvent;

sub run {
   my ($done, $i) = @_;

   AnyEvent::Fork::RPC::event ("first", $i, ref $done);

   my ($n, $w) = 0;
   $w = AE::timer 0.01, 0.01, sub {
      AnyEvent::Fork::RPC::event ("timer", $i, ++$n);

      if ($n == 3) {
         undef $w;
         $done->("done", $i, "flushed=" . AnyEvent::Fork::RPC::flush ());
      }
   };
}
