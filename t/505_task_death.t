# AnyEvent::Task: workers and servers that die; servers that are not up yet
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(with_stderr_pipe wait_until run_for alive);
use POSIX ();
use Test::More;

my ($errfh, $path) = with_stderr_pipe (sub {
   scalar server (
      hung_worker_timeout => 1,
      interface => {
         hang => sub { select undef, undef, undef, 30; "woke up" },
         quit => sub { select undef, undef, undef, 0.1; POSIX::_exit (0) },
         pid  => sub { $$ },
      },
   )
});

my @warn;
$SIG{__WARN__} = sub { push @warn, @_ };

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path]);

# the hung-worker alarm
{
   my $co = $client->checkout (timeout => 10);
   my $pid = call ($co, 'pid');
   my $t0 = AE::now;
   my ($ok, $e) = call_err ($co, 'hang');
   like ($e, qr/^worker connection suddenly died at /, "a hung worker is killed: connection error");
   unlike ($e, qr/timed out after/, "not a timeout");
   my $took = AE::now - $t0;
   cmp_ok ($took, '>=', 0.9, "after the alarm's second");
   my $line = <$errfh>;
   is ($line, "Killing hung worker ($pid)\n", "the worker said so on its stderr");
}

# a worker that _exits mid-request
for my $round (1 .. 3) {
   my $co = $client->checkout (timeout => 10);
   my $cv = AE::cv;
   frame_try {
      $co->quit (sub { $cv->send ("returned?") });
   } frame_catch {
      my $first = $@;
      my $second;
      frame_try { $co->pid (sub { $second = "succeeded" }) } frame_catch { $second = $@ };
      $cv->send ($first, $second);
   };
   my ($first, $second) = $cv->recv;
   like ($first, qr/^worker connection suddenly died at /, "round $round: _exit mid-request: connection error");
   like ($second, qr/^worker connection suddenly died at /, "round $round: the next call fails the same way, at once");
}

# Q4: an idle pooled worker is killed
{
   my $c1 = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1);
   my $pid = call ($c1->checkout, 'pid');
   my $old = $c1->{idle}[0];
   kill KILL => $pid;
   # the client notices, drops it and connects a new one
   wait_until { $old->{dead} && @{ $c1->{idle} } && $c1->{idle}[0] != $old };
   my $p2 = call ($c1->checkout, 'pid');
   isnt ($p2, $pid, "the next checkout is served by a fresh worker");
}

# Q5: a client destroyed while it connects, server up or down
{
   { my $c = AnyEvent::Task::Client->new (connect => ['unix/', $path]); }
   { my $c = AnyEvent::Task::Client->new (connect => ['unix/', sock_path ()]); }
   { my $c = AnyEvent::Task::Client->new (connect => ['127.0.0.1', free_port ()]); }
   run_for 0.3;
   pass ("no exception from destroyed clients");
}

# a server that is not up yet; a server killed and restarted
{
   my $later = sock_path ();
   my $c = AnyEvent::Task::Client->new (connect => ['unix/', $later]);
   my $cv = AE::cv;
   my $co = $c->checkout (timeout => 20);
   frame_try { $co->pid (sub { $cv->send ($_[1]) }) } frame_catch { $cv->send ("failed: $@") };
   run_for 0.4;
   my $spid = exec_server (['unix/', $later], "");
   like ($cv->recv, qr/^\d+\z/, "the checkout is served once the server comes up");
   my $wpid = $cv->recv;

   kill KILL => $spid;
   waitpid $spid, 0;
   undef $co;
   is (call ($c->checkout, 'pid'), $wpid, "after the server died its worker still serves the pooled connection");

   my $spid2 = exec_server (['unix/', $later], "");
   my $c2 = AnyEvent::Task::Client->new (connect => ['unix/', $later]);
   like (call ($c2->checkout (timeout => 20), 'pid'), qr/^\d+\z/, "a restarted server serves new clients");
   kill KILL => $spid2;
   waitpid $spid2, 0;
}

is_deeply (\@warn, [], "no warnings, no errors in the event loop");

done_testing;
