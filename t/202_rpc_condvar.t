# on_error, on_event, on_destroy and result callbacks may be condvars, and
# on_destroy may be undef. The child's exit is seen as
# end-of-file on a pipe whose only write end it holds.
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

   pipe my $r, my $w or die "pipe: $!";

   my ($event, $error, $result, $destroy) = (AE::cv, AE::cv, AE::cv, AE::cv);

   my $rpc = AnyEvent::Fork
      ->new
      ->send_fh ($w)
      ->eval ($async
         ? 'sub init { our $keep = shift } sub run { my $done = shift; AnyEvent::Fork::RPC::event ("ev", @_); $done->("r", @_) }'
         : 'sub init { our $keep = shift } sub run {                   AnyEvent::Fork::RPC::event ("ev", @_);        ("r", @_) }')
      ->AnyEvent::Fork::RPC::run ("run",
           async      => $async,
           init       => "init",
           on_event   => $event,
           on_error   => $error,
           on_destroy => $destroy,
        );
   undef $w; # the queue keeps it until it is sent, then closes it

   $rpc->(1, 2, $result);

   is_deeply [$event->recv], ["ev", 1, 2], "$what: condvar as on_event";
   is_deeply [$result->recv], ["r", 1, 2], "$what: condvar as result callback";

   undef $rpc;
   $destroy->recv;
   pass "$what: condvar as on_destroy";
   ok !$error->ready, "$what: condvar as on_error, not sent";

   # on_destroy undef: nothing breaks when the child goes away
   my $child_gone = AE::cv;
   pipe $r, $w or die "pipe: $!";

   $result = AE::cv;
   $rpc = AnyEvent::Fork
      ->new
      ->send_fh ($w)
      ->eval ($async
         ? 'sub init { our $keep = shift } sub run { my $done = shift; $done->(@_) }'
         : 'sub init { our $keep = shift } sub run { @_ }')
      ->AnyEvent::Fork::RPC::run ("run",
           async      => $async,
           init       => "init",
           on_error   => $error,
           on_destroy => undef,
        );
   undef $w; # the queue keeps it until it is sent, then closes it

   $rpc->("x", $result);
   is_deeply [$result->recv], ["x"], "$what: on_destroy undef: result";
   undef $rpc;

   my $ww = AE::io $r, 0, sub { $child_gone->send (sysread $r, my $buf, 1) };
   is $child_gone->recv, 0, "$what: on_destroy undef: the child exits";
   ok !$error->ready, "$what: no error";
}

done_testing;
