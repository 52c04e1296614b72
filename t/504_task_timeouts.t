# AnyEvent::Task: checkout timeouts
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use Test::More;

my $path = server (
   interface => {
      sleep => sub { select undef, undef, undef, $_[0]; $$ },
      pid   => sub { $$ },
   },
);

# no server at all
{
   my $client = AnyEvent::Task::Client->new (connect => ['unix/', sock_path ()]);
   my ($ok, $e) = call_err ($client->checkout (timeout => 0.2), 'pid');
   like ($e, qr/^timed out after 0\.2 seconds at /, "no server: the checkout times out");
}

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1);

{
   my $co = $client->checkout (timeout => 0.2);
   my ($ok, $e) = call_err ($co, 'sleep', 0.6);
   like ($e, qr/^timed out after 0\.2 seconds at /, "a slow request times out");
   my ($in_call, $sync);
   frame_try {
      $in_call = 1;
      $co->pid (sub {});
      $in_call = 0;
   } frame_catch {
      $sync = $in_call;
      $e = $@;
   };
   like ($e, qr/^timed out after 0\.2 seconds at /, "later calls fail with the same text");
   ok ($sync, "at once, inside the call");
}

# a nested request runs without a timeout once the first reply is handled
{
   my $co = $client->checkout (timeout => 1);
   my $cv = AE::cv;
   frame_try {
      $co->pid (sub { $co->sleep (1.5, sub { $cv->send ("done") }) });
   } frame_catch { $cv->send ($@) };
   is ($cv->recv, "done", "the timer covers only the first request");
}

# Q7: a timeout frees its worker slot for the checkout waiting behind it
{
   my $a = $client->checkout (timeout => 0.2);
   my $b = $client->checkout (timeout => 20);
   my $cv = AE::cv;
   my $t0;
   frame_try { $a->sleep (2, sub {}) } frame_catch { $t0 = AE::now };
   frame_try { $b->pid (sub { $cv->send (AE::now - $t0) }) } frame_catch { $cv->send ("B failed: $@") };
   my $r = $cv->recv;
   like ($r, qr/^[\d.e-]+\z/, "B is served, not timed out: the slot A freed was refilled");
}

# timeout => undef: none; the client-wide default
{
   my $nc = AnyEvent::Task::Client->new (connect => ['unix/', $path], timeout => 0.2);
   my ($ok, $e) = call_err ($nc->checkout, 'sleep', 0.5);
   like ($e, qr/^timed out after 0\.2 seconds/, "client-wide timeout");
   is (call ($nc->checkout (timeout => undef), 'sleep', 0.3) > 0, 1, "timeout => undef disables it");
}

done_testing;
