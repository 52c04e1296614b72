# Quirk #1 (fixed, required) and #2 (fixed): a worker's buffered STDOUT is
# flushed before it half-closes its socket, so everything it printed is
# there once on_destroy runs. Quirk #16 (kept): a done-callback called twice
# is "unexpected data from child", after which the RPC object is dead.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Util ();
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   pipe my $r, my $w or die "pipe: $!";

   my $done = AE::cv;
   my $rpc = AnyEvent::Fork
      ->new
      ->send_fh ($w)
      # STDOUT becomes a pipe: block-buffered; exit is slow to flush it
      ->eval ('open STDOUT, ">&", $arg[0] or die; close $arg[0]; @arg = ();
               END { select undef, undef, undef, 0.3 }
               sub sync { print "line $_[0]\n"; 1 } sub async { print "line $_[1]\n"; $_[0]->(1) }')
      ->AnyEvent::Fork::RPC::run ($what, async => $async, on_destroy => $done);
   undef $w;

   $rpc->($_, sub { }) for 1 .. 5;
   undef $rpc;
   $done->recv;

   # right now, without waiting: everything must be in the pipe already
   AnyEvent::Util::fh_nonblocking ($r, 1);
   my $got = "";
   1 while sysread $r, $got, 4096, length $got;
   is $got, join ("", map "line $_\n", 1 .. 5), "$what: the worker's output is complete when on_destroy runs";
}

{
   my (@log, $destroyed);
   my $done = AE::cv;
   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub twice { my $done = shift; $done->("first"); $done->("second") }')
      ->AnyEvent::Fork::RPC::run ("twice",
           async      => 1,
           on_error   => sub { push @log, "error @_"; $done->send },
           on_destroy => sub { ++$destroyed; $done->send },
        );
   $rpc->(sub { push @log, "result @_" });
   $done->recv;
   is_deeply \@log, ["result first", "error unexpected data from child"], "done called twice: unexpected data from child";
   ok !$destroyed, "no on_destroy after it";
}

done_testing;
