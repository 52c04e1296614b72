# The child's prologue: init runs first with the user's
# arguments (sent before RPC::run) and cannot send events yet; $0 becomes
# "OWNER FUNCTION"; a missing function is found only when called; Async
# jumps to done when finished, Sync ignores done.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use AEFHelp;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $code = q{
   our (@init, $event_error);
   sub init {
      @init = @_;
      $event_error = eval { AnyEvent::Fork::RPC::event ("from init"); 1 } ? "sent" : $@;
   }
   sub sync  { (scalar @init, (map ref || $_, @init), $event_error, $0) }
   sub async { my $done = shift; $done->(sync ()) }
   sub finish { syswrite $init[0], "done called\n"; exit 0 }
};

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   pipe my $r, my $w or die "pipe: $!";

   my (@got, @errors);
   my $done = AE::cv;
   my $rpc = AnyEvent::Fork
      ->new
      ->eval ($code)
      ->send_fh ($w)
      ->send_arg ("a1", "")
      ->AnyEvent::Fork::RPC::run ($what,
           async      => $async,
           init       => "init",
           done       => "finish",
           on_event   => sub { push @errors, "event @_" },
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => $done,
        );
   undef $w;

   $rpc->(sub { @got = @_ });
   undef $rpc;
   $done->recv;

   is_deeply [@got[0 .. 3]], [3, "GLOB", "a1", ""], "$what: init got the user's arguments";
   like $got[4], qr/^Undefined subroutine &AnyEvent::Fork::RPC::event called at /, "$what: init cannot send events";
   is $got[5], "$$ $what", "$what: \$0 is 'OWNER FUNCTION'";
   is_deeply \@errors, [], "$what: no error";

   my $out = do { local $/; <$r> };
   is $out, $async ? "done called\n" : "", $async ? "async: done is called when finished" : "sync: done is ignored";
}

# a function that does not exist: found when the first request calls it.
# Sync: the child dies. Async: the exception leaves the child's event loop,
# which ends the child under the pure-Perl loop and is reported and ignored
# under EV (as with the original); either way it says so on STDERR.
for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $proc = AnyEvent::Fork->new;
   my $r = stderr_pipe ($proc);

   my @errors;
   my $done = AE::cv;
   my $rpc = $proc
      ->AnyEvent::Fork::RPC::run ("nosuch",
           async      => $async,
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => $done,
        );

   $rpc->(1, sub { });
   my $line = AE::cv;
   my $rw = AE::io $r, 0, sub { $line->send (scalar <$r>) };
   like $line->recv, qr/^(EV: error in callback \(ignoring\): )?Undefined subroutine &main::nosuch called/,
      "$what: missing function: perl's message";

   unless ($async) {
      $done->recv;
      is_deeply \@errors, ["unexpected eof"], "$what: the child dies, unexpected eof";
   }
}

done_testing;
