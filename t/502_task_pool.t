# AnyEvent::Task: checkout order, worker reuse, nested calls, max_checkouts,
# dont_refork_after_error, checkout_done
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(wait_until);
use Test::More;

my $done_dir = File::Temp->newdir;
my $path = server (
   interface => {
      pid  => sub { $$ },
      echo => sub { $_[0] },
      fail => sub { die "ERR: as asked\n" },
   },
   checkout_done => sub {
      open my $fh, ">>", "$done_dir/done" or die;
      print $fh "$$\n";
   },
);

sub dones { open my $fh, "<", "$done_dir/done" or return 0; my @l = <$fh>; scalar @l }

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1);

# strict creation order, one worker
{
   my @order;
   my $cv = AE::cv;
   $cv->begin for 1 .. 5;
   for my $i (1 .. 5) {
      $client->checkout->pid (sub { push @order, [$i, $_[1]]; $cv->end });
   }
   $cv->recv;
   is_deeply ([map $_->[0], @order], [1 .. 5], "served in creation order");
   is (scalar (keys %{{ map { $_->[1] => 1 } @order }}), 1, "by one worker process");
}

# nested call on A, then C created inside A's callback queues behind B
{
   my @seen;
   my $cv = AE::cv;
   my $a = $client->checkout;
   my $b = $client->checkout;
   $a->pid (sub {
      push @seen, ["A", $_[1]];
      $a->pid (sub {
         push @seen, ["A nested", $_[1]];
      });
      undef $a;
      $client->checkout->pid (sub { push @seen, ["C", $_[1]]; $cv->send });
   });
   $b->pid (sub { push @seen, ["B", $_[1]]; undef $b });
   $cv->recv;
   is_deeply ([map $_->[0], @seen], ["A", "A nested", "B", "C"], "nested call first, then B, then C");
   is (scalar (keys %{{ map { $_->[1] => 1 } @seen }}), 1, "all by the same worker");
}

# checkout_done runs on every release, even without calls
{
   # eight checkouts so far, each released normally
   wait_until { dones () >= 8 };
   is (dones (), 8, "checkout_done ran once per released checkout");
   { my $co = $client->checkout; }
   wait_until { dones () >= 9 };
   is (dones (), 9, "a checkout dropped without calls still takes a worker and releases it");
}

# max_checkouts
{
   my $mc = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1, max_checkouts => 2);
   my @pids;
   my $t0 = AE::now;
   for (1 .. 5) {
      my $co = $mc->checkout;
      push @pids, call ($co, 'pid');
   }
   is ($pids[0], $pids[1], "first two checkouts on one worker");
   isnt ($pids[2], $pids[1], "the third on a new one");
   is ($pids[3], $pids[2], "the fourth shares it");
   ok (-S $path, "the retired worker left the socket path alone");
   cmp_ok (AE::now - $t0, '<', 5, "promptly (the original needs under a second on an idle machine)");
}

# dont_refork_after_error
{
   my $dr = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1, dont_refork_after_error => 1);
   my $co = $dr->checkout;
   my $p1 = call ($co, 'pid');
   my ($ok, $err) = call_err ($co, 'fail');
   like ($err, qr/^ERR: as asked/, "worker error");
   my $cv = AE::cv;
   frame_try {
      $co->fail (sub { $cv->send ("no error") });
   } frame_catch {
      $co->pid (sub { $cv->send ($_[1]) });   # a call from inside the handler
   };
   my $p2 = $cv->recv;
   is ($p2, $p1, "same worker before and after two errors; the call from the handler works");
   undef $co;
   is (call ($dr->checkout, 'pid'), $p1, "and the next checkout gets that worker back");

   # the default: the worker is replaced after an error
   my $def = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1);
   $co = $def->checkout;
   my $q1 = call ($co, 'pid');
   call_err ($co, 'fail');
   undef $co;
   isnt (call ($def->checkout, 'pid'), $q1, "by default a worker that failed is not reused");
}

# min_workers => 0 still opens one connection; clients pick up workers
{
   my $z = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 0);
   wait_until { @{ $z->{idle} } == 1 };
   is ($z->{total}, 1, "min_workers => 0 opens one connection");
}

done_testing;
