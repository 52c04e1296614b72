# Faults: a child that exits, is killed or dies in
# the middle of a request gives "unexpected eof" without a hang; a child
# whose parent has gone away exits by itself, idle or busy, for both
# backends.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $code = q{
   sub run {
      my ($how) = @_;
      exit 3            if $how eq "exit";
      kill 9, $$        if $how eq "kill";
      die "boom\n"      if $how eq "die";
      "r$how"
   }
   sub arun { my $done = shift; $done->(run (@_)) }
};

for my $async (0, 1) {
   for my $how ("exit", "kill", $async ? () : "die") {
      my $what = ($async ? "async" : "sync") . ", $how";
      my $proc = AnyEvent::Fork->new;
      my $r = stderr_pipe ($proc);

      my (@log, $destroyed);
      my $done = AE::cv;
      my $rpc = $proc
         ->eval ($code)
         ->AnyEvent::Fork::RPC::run ($async ? "arun" : "run",
              async      => $async,
              on_error   => sub { push @log, "error @_"; $done->send },
              on_destroy => sub { ++$destroyed; $done->send },
           );

      # answered before: (async: its response must be out before the next
      # request kills the child, so wait for it)
      my $first = AE::cv;
      $rpc->("ok", sub { push @log, "result @_"; $first->send });
      $first->recv;
      # (nothing after it: a request still unread in the dying child's
      # socket would make it "read: Connection reset by peer")
      $rpc->($how, sub { push @log, "result @_" });
      $done->recv;

      is_deeply \@log, ["result rok", "error unexpected eof"], "$what: the answer before, then unexpected eof";
      ok !$destroyed, "$what: no on_destroy";
      is do { local $/; <$r> }, $how eq "die" ? "boom\n" : "", "$what: STDERR";
   }
}

# the parent goes away: a separate perl is the parent, our pipe is its (and
# so its children's) STDOUT; end-of-file means every one of them has exited
my $PARENT = q{
   use AnyEvent; use AnyEvent::Fork; use AnyEvent::Fork::RPC; use POSIX ();
   my ($async, $busy) = @ARGV;
   $| = 1;
   open STDERR, ">", "/dev/null"; # busy workers report the lost parent
   my $in = AE::cv;
   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
         use AnyEvent;
         sub run  { AnyEvent::Fork::RPC::event ("busy") if $_[0]; select undef, undef, undef, 0.2 if $_[0]; $$ }
         sub arun { my ($done, $busy) = @_; AnyEvent::Fork::RPC::event ("busy") if $busy; my $t; $t = AE::timer $busy ? 0.2 : 0, 0, sub { undef $t; $done->($$) } }
      })
      ->AnyEvent::Fork::RPC::run ($async ? "arun" : "run", async => $async, on_event => $in, on_error => sub { });
   my $cv = AE::cv;
   $rpc->(0, $cv);
   print "worker ", $cv->recv, "\n";
   if ($busy) {
      $rpc->(1, sub { });
      $in->recv; # the worker is inside the function now
   }
   POSIX::_exit (0);
};

for my $async (0, 1) {
   for my $busy (0, 1) {
      my $what = ($async ? "async" : "sync") . ($busy ? ", busy" : ", idle");
      open my $fh, "-|", $^X, (map "-I$_", grep !ref, @INC), "-e", $PARENT, $async, $busy
         or die "perl: $!";
      my $first = <$fh>;
      like $first, qr/^worker \d+$/, "$what: the worker ran";
      my $rest = do { local $/; <$fh> } // ""; # end-of-file: all of them are gone
      close $fh;
      is $rest, "", "$what: parent gone: the worker exits";
   }
}

done_testing;
