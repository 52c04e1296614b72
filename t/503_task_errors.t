# AnyEvent::Task: worker errors, frames and traces, queue clearing, setup
# failures, manual aborts
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(run_for);
use Test::More;

my $path = server (
   interface => {
      error   => sub { die "ERR: something bad\n" },
      errnonl => sub { die "no newline" },
      errref  => sub { die { code => 42 } },
      errobj  => sub { die bless [], 'My::Err' },
      ok      => sub { "fine" },
      sleep   => sub { select undef, undef, undef, $_[0]; 1 },
   },
);
my $spath = server (
   setup => sub { $main::attempt++; die "SETUP EXCEPTION $main::attempt" },
   interface => sub { 1 },
);

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], name => 'MY CLIENT NAME');

{
   my $cv = AE::cv;
   my $ran;
   frame_try {
      $client->checkout->error (sub { $ran = 1; $cv->send });
   } frame_catch {
      $cv->send ($@, $_[0]);
   };
   my ($err, $trace) = $cv->recv;
   like ($err, qr/^ERR: something bad\n\z/, "the worker's exception, verbatim");
   unlike ($err, qr/setup exception/, "no setup prefix");
   ok (!$ran, "success code not run");
   like ($trace, qr/^ERR: something bad\n----- Callback::Frame stack-trace -----\n.*:\d+ - MY CLIENT NAME -> error\n.*:\d+ - ANONYMOUS FRAME\n\z/,
         "the trace names the client and the method, then the enclosing frame");
}

{
   my ($ok, $e) = call_err ($client->checkout, 'errnonl');
   like ($e, qr/^no newline at \S+ line \d+\.\n\z/, "a worker error without newline: no second suffix");
   ($ok, $e) = call_err ($client->checkout, 'errref');
   is_deeply ($e, { code => 42 }, "an unblessed reference arrives as data");
   ($ok, $e) = call_err ($client->checkout, 'errobj');
   like ($e, qr/^My::Err=ARRAY\(0x[0-9a-f]+\) at /, "a blessed exception is stringified");
}

# a callback that is a frame with its own handler
{
   my $cv = AE::cv;
   my $co = $client->checkout;
   $co->error (frame (code => sub { $cv->send ("success?") }, catch => sub { $cv->send ("own: $@") }));
   like ($cv->recv, qr/^own: ERR: something bad/, "a frame callback's own handler gets the error");
}

# an error clears the queue
{
   my @seen;
   # a new client: nothing is connected yet, so all five calls queue
   my $fresh = AnyEvent::Task::Client->new (connect => ['unix/', $path]);
   my $co = $fresh->checkout;
   ok (!$co->{worker}, "no worker bound yet");
   my $cv = AE::cv;
   frame_try {
      $co->ok (sub { push @seen, 1 });
      $co->ok (sub { push @seen, 2 });
      $co->error (sub { push @seen, "error ran" });
      $co->ok (sub { push @seen, 4 });
      $co->ok (sub { push @seen, 5 });
   } frame_catch {
      push @seen, "caught";
      $cv->send;
   };
   $cv->recv;
   run_for 0.5;
   is_deeply (\@seen, [1, 2, "caught"], "two successes, one catch, the rest dropped");
}

# setup failure
{
   my $sc = AnyEvent::Task::Client->new (connect => ['unix/', $spath], max_workers => 1);
   my ($ok, $e) = call_err ($sc->checkout, undef);
   like ($e, qr/^setup exception: SETUP EXCEPTION 1 at /, "setup exception reported to the request");
   ($ok, $e) = call_err ($sc->checkout, undef);
   like ($e, qr/^setup exception: SETUP EXCEPTION 1 at /, "a fresh worker tries again from the server's state");
   my $co = $sc->checkout;
   call_err ($co, undef);
   ($ok, $e) = call_err ($co, undef);
   like ($e, qr/^setup exception: SETUP EXCEPTION 2 at /, "the same worker retries setup on its next request");
}

# manual abort
{
   my $co = $client->checkout (timeout => 10);
   my $cv = AE::cv;
   frame_try {
      $co->sleep (1, sub { $cv->send ("finished?") });
   } frame_catch {
      my $first = $@;
      my $second;
      frame_try {
         $co->ok (sub { $second = "succeeded" });
      } frame_catch {
         $second = $@;
      };
      $cv->send ($first, $second);
   };
   $co->throw_fatal_error ("manual request abort");
   my ($first, $second) = $cv->recv;
   like ($first, qr/^manual request abort at /, "throw_fatal_error reaches the handler");
   unlike ($first, qr/timed out after|hung worker/, "not a timeout");
   like ($second, qr/^manual request abort at /, "a later call from the handler fails the same way");
}

done_testing;
