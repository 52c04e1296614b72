# AnyEvent::Fork::Remote over a real ssh: an sshd in a network namespace
# made by the test (root only; skipped otherwise). RPC sync and async with
# the C core and with the pure-Perl worker loops, connection failures (a
# closed port, no backend on the remote @INC), a Pool of 16 parallel
# workers against sshd's default MaxStartups losing no job, and the
# fixture leaving nothing behind - also when the test process is killed.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 240;

use Test::More;

use AnyEvent;
use AnyEvent::Fork::Remote;
use AnyEvent::Fork::RPC;
use AnyEvent::Fork::Pool;
use AEFRemote;
use AEFHelp;

my $sshd = AEFRemote::SSHD->new
   or plan skip_all => $AEFRemote::SSHD::WHY;

my $ns = $sshd->{ns};
my $pidfile = "$sshd->{dir}/sshd.pid";
ok -s $pidfile, "sshd runs in namespace $ns";

my $worker = 'sub w { my $done = $main::async ? shift : undef; AnyEvent::Fork::RPC::event ("ev"); my @r = ("r", @_, $0, defined &AnyEvent::Fork::RPC::Core::sync_serve ? "core" : "pp"); $done ? $done->(@r) : @r }';

# all RPC sessions at once: each is one ssh session
my $all = AE::cv;
my %log;
my @keep;
for my $case (["core", remote_lib (1)], ["pp", remote_lib (0)], ["closed port", remote_lib (1), 2223], ["no backend", undef]) {
   my ($name, $lib, $port) = @$case;
   for my $async (0, 1) {
      my $key = "$name, async=$async";
      $all->begin;
      my $rpc; $rpc = $sshd->remote ($lib, $port)
         ->eval ("\$main::async = $async; $worker")
         ->AnyEvent::Fork::RPC::run ("w",
              async      => $async,
              on_event   => sub { push @{ $log{$key} }, "event @_" },
              on_error   => sub { push @{ $log{$key} }, "error @_"; undef $rpc; $all->end },
              on_destroy => sub { push @{ $log{$key} }, "destroy"; $all->end },
           );
      $rpc->($_, sub { push @{ $log{$key} }, join "|", @_; undef $rpc if $_[1] == 2 }) for 1, 2;
   }
}
my $t = AE::timer 120, 0, sub { $all->send };
$all->recv;

for my $impl ("core", "pp") {
   for my $async (0, 1) {
      my $backend = $async ? "Async" : "Sync";
      is_deeply $log{"$impl, async=$async"},
         ["event ev", "r|1|*:$$ AnyEvent::Fork::RPC::${backend}::run|$impl", "event ev", "r|2|*:$$ AnyEvent::Fork::RPC::${backend}::run|$impl", "destroy"],
         "ssh, $backend, $impl: calls, events, \$0, on_destroy";
   }
}
for my $case ("closed port", "no backend") {
   is_deeply $log{"$case, async=$_"}, ["error connection failed"], "ssh, $case, async=$_: connection failed, nothing else"
      for 0, 1;
}

# 16 workers started at once against sshd's default MaxStartups (10:30:100):
# connections it drops give their jobs back to the pool
{
   my (%res, @errors);
   my $cv = AE::cv;
   my $pool = $sshd->remote
      ->eval ('sub w { ($_[0] * 2) }')
      ->AnyEvent::Fork::Pool::run ("w", max => 16, idle => 16, load => 2, on_error => sub { push @errors, "@_" });
   for my $i (1 .. 32) {
      $cv->begin;
      $pool->($i, sub { $res{$i} = $_[0]; $cv->end });
   }
   my $t = AE::timer 150, 0, sub { push @errors, "timeout"; $cv->send };
   $cv->recv;
   is_deeply \%res, { map +($_ => 2 * $_), 1 .. 32 }, "ssh Pool, 16 parallel workers: all 32 jobs return";
   ok !grep (!/^connection failed$/, @errors), "only dropped connections reported";
   diag scalar (@errors) . " of the connections were dropped by sshd" if @errors;
}

# the parent is killed while each worker has a request that never
# completes: no worker spins afterwards (they wait, idle, or exit)
{
   pipe my $r, my $w or die;
   my $parent = fork;
   unless ($parent) {
      close $r;
      my @rpc = map {
         my $async = $_;
         my $rpc = $sshd->remote
            ->eval ($async ? 'sub w { $main::keep = $_[0]; AnyEvent::Fork::RPC::event ($$) }'
                           : 'sub w { AnyEvent::Fork::RPC::event ($$); sleep 1000 }')
            ->AnyEvent::Fork::RPC::run ("w", async => $async,
                 on_event => sub { syswrite $w, "$_[0]\n" }, on_error => sub { POSIX::_exit (1) });
         $rpc->(sub { });
         $rpc
      } 0, 1;
      AE::cv->recv;
   }
   close $w;
   my @pids = map { my $l = <$r>; chomp $l if defined $l; $l } 1, 2;
   ok !grep (!$_, @pids), "two workers over ssh with pending requests (@pids)";
   kill KILL => $parent;
   waitpid $parent, 0;
   my %cpu0 = map +($_ => cpu_of ($_) || 0), @pids;
   run_for 1.5;
   for (@pids) {
      my $cpu = cpu_of ($_);
      ok !defined $cpu || $cpu - $cpu0{$_} < 0.2, "worker $_ does not spin once its parent is gone";
   }
}

my @leftover = grep /^\d+$/, split /\s+/, `ip netns pids $ns 2>/dev/null`;
ok @leftover >= 1, "before teardown: processes in the namespace (sshd)";
$sshd->teardown;

sub gone {
   my ($ns, $host) = @_;
   !grep (/^\Q$ns\E\b/, `ip netns list 2>/dev/null`)
      && system ("ip link show $host >/dev/null 2>&1") != 0
}
ok gone ($ns, $sshd->{host}), "teardown: no namespace, no veth";
ok !grep (alive ($_), @leftover), "teardown: no process of the namespace alive";
ok !-e $sshd->{dir}, "teardown: temporary directory removed";

# a test killed outright still leaves nothing behind
{
   pipe my $r, my $w or die;
   my $pid = fork;
   unless ($pid) {
      close $r;
      my $s = AEFRemote::SSHD->new or POSIX::_exit (1);
      syswrite $w, "$s->{dir}\n";
      kill KILL => $$;
   }
   close $w;
   chomp (my $dir = <$r> || "");
   waitpid $pid, 0;
   ok $dir, "a child made a fixture, then was killed";
   wait_until { gone ("aefr${pid}x0", "aefh${pid}x0") && !-e $dir };
   ok gone ("aefr${pid}x0", "aefh${pid}x0") && !-e $dir, "its guardian removed namespace, veth and directory";
}

done_testing;
