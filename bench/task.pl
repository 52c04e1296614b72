#!/usr/bin/perl

# bench/task.pl - AnyEvent::Task: sequential calls on one checkout, calls
# queued at once on one checkout, one-call checkouts on a warm pool, and
# one-call checkouts that each need a fresh worker; beside the machine's
# limits measured in the same run (bench/limits/) and beside the original
# 0.805's figures on this class of machine (it cannot be installed here:
# the figures are quoted).
#
# run with: perl Makefile.PL && make && perl bench/task.pl [--quick]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../blib/lib", "$FindBin::Bin/../blib/arch";
use Bench;
use Getopt::Long ();
use File::Temp ();

my %opt = (rounds => 3, time => 1, queue => 2000, checkouts => 2000, fresh => 100);
Getopt::Long::GetOptions (\%opt, "rounds=i", "time=f", "quick")
   or die "usage: perl bench/task.pl [--rounds R] [--time S] [--quick]\n";
@opt{qw(rounds time)} = (2, 0.5) if $opt{quick};

use AnyEvent::Task::Server;
use AnyEvent::Task::Client;

# the server first: no watcher may exist before it is forked
my $dir = File::Temp->newdir;
my $path = "$dir/s";
AnyEvent::Task::Server::fork_task_server (
   listen => ['unix/', $path],
   interface => sub { $_[0] eq 'self' ? self_cost () : $_[0] },
);

# (Linux) the CPU time process $pid has used, in microseconds, and its
# minor page faults; () where /proc does not tell
sub cpu_of {
   my ($pid) = @_;
   open my $s, "<", "/proc/$pid/schedstat" or return;
   my ($ns) = split ' ', scalar <$s>;
   my $stat = Bench::pstat ($pid);
   return unless defined $ns && $stat;
   (int ($ns / 1000), $stat->{minflt})
}

# in a worker (the echo interface's 'self' call): its pid, CPU time and
# page faults so far
sub self_cost { join " ", $$, cpu_of ($$) }

sub wait_for_server {
   my $c = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 1);
   my $cv = AE::cv;
   $c->checkout (timeout => 10)->(1, sub { $cv->send });
   $cv->recv;
}

sub best (&;$) {
   my ($code, $rounds) = @_;
   my $best = 0;
   for (1 .. ($rounds || $opt{rounds})) {
      my $r = $code->();
      $best = $r if $r > $best;
   }
   $best
}

# one call on $co, waited for: its result
sub call {
   my ($co, @arg) = @_;
   my $cv = AE::cv;
   $co->(@arg, sub { $cv->send ($_[1]) });
   $cv->recv
}

# a client with one worker and a checkout bound to it (it answered once)
sub bound_checkout {
   my $c = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 1, max_workers => 1);
   my $co = $c->checkout (timeout => undef);
   call ($co, 0);
   ($c, $co)
}

# one checkout, each call issued from the previous call's callback
sub sequential {
   my ($c, $co) = bound_checkout ();
   best {
      my ($n, $end) = (0, Bench::now + $opt{time});
      my $cv = AE::cv;
      my $next;
      $next = sub {
         $n++;
         return $cv->send if Bench::now >= $end;
         $co->($n, $next);
      };
      my $t0 = Bench::now;
      $co->(0, $next);
      $cv->recv;
      undef $next;
      $n / (Bench::now - $t0)
   }
}

# N calls queued at once on one (bound) checkout; also the CPU time per
# call of the client and of the worker (medians over the rounds, where
# /proc tells), which do not depend on how the two were scheduled
sub pipelined {
   my ($c, $co) = bound_checkout ();
   my ($wpid) = split ' ', call ($co, 'self');
   my (@cl, @wk);
   my $rate = best {
      my $cv = AE::cv;
      my $left = $opt{queue};
      my ($c0, $w0) = ((cpu_of ($$))[0], (cpu_of ($wpid))[0]);
      my $t0 = Bench::now;
      $co->($_, sub { $cv->send unless --$left }) for 1 .. $opt{queue};
      $cv->recv;
      my $r = $opt{queue} / (Bench::now - $t0);
      my ($c1, $w1) = ((cpu_of ($$))[0], (cpu_of ($wpid))[0]);
      if (defined $c1 && defined $w1) {
         push @cl, ($c1 - $c0) / $opt{queue};
         push @wk, ($w1 - $w0) / $opt{queue};
      }
      $r
   } 5 * $opt{rounds};  # a round takes some 30 ms: more of them
   ($rate, Bench::median (@cl), Bench::median (@wk))
}

# N one-call checkouts on a warm pool of 5 workers (max_checkouts: fresh workers)
sub checkouts {
   my ($n, %copt) = @_;
   best {
      my $c = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 5, max_workers => 5, %copt);
      # warm: five workers connected and answered once
      my $cv = AE::cv;
      $cv->begin for 1 .. 5;
      my @co = map $c->checkout (timeout => undef), 1 .. 5;
      $_->(0, sub { $cv->end }) for @co;
      $cv->recv;
      @co = ();
      $cv = AE::cv;
      my $left = $n;
      my $t0 = Bench::now;
      $c->checkout (timeout => undef)->($_, sub { $cv->send unless --$left }) for 1 .. $n;
      $cv->recv;
      $n / (Bench::now - $t0)
   }
}

# what a fresh worker has spent when it answers its first call (its own
# CPU time and page faults, medians of 20 where /proc tells)
sub fresh_cost {
   my $c = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 1, max_workers => 1, max_checkouts => 1);
   my (@us, @flt);
   for (1 .. 20) {
      my (undef, $us, $flt) = split ' ', call ($c->checkout (timeout => 10), 'self');
      next unless defined $flt;
      push @us, $us;
      push @flt, $flt;
   }
   (Bench::median (@us), Bench::median (@flt))
}

wait_for_server ();

my %r = (seq => sequential ());
@r{qw(pipe pipe_client pipe_worker)} = pipelined ();
$r{warm} = checkouts ($opt{checkouts});
$r{fresh} = checkouts ($opt{fresh}, max_checkouts => 1);
@r{qw(fresh_us fresh_flt)} = fresh_cost ();

my %pp = Bench::run_cmd ([Bench::limit ("pingpong"), 200000]);
my %fk = Bench::run_cmd ([Bench::limit ("fork_limit"), 2000, 2]);

# perl's own floor for a fresh worker: fork, POSIX::_exit in the child,
# waitpid, two in flight (as fork_limit), from a bare perl and from one
# that loaded what our server loads (a bigger process forks slower)
my $floor = q{
   my ($n, $t0, $left, %kids) = ($ARGV[0], Time::HiRes::time, $ARGV[0]);
   while ($left) {
      while ($n && keys %kids < 2) { my $pid = fork; die "fork: $!" unless defined $pid; POSIX::_exit (0) unless $pid; $kids{$pid} = 1; $n-- }
      my $pid = wait; die "wait: $!" if $pid < 0; delete $kids{$pid}; $left--;
   }
   printf "forks_per_s=%.1f
", $ARGV[0] / (Time::HiRes::time - $t0);
};
my %pf = Bench::run_cmd ([$^X, "-MPOSIX", "-MTime::HiRes", "-e", $floor, $opt{fresh} * 3]);
my %sf = Bench::run_cmd ([$^X, (map "-I$_", @INC), "-MAnyEvent::Task::Server", "-MAnyEvent::Task::Client", "-MEV", "-MPOSIX", "-MTime::HiRes", "-e", $floor, $opt{fresh} * 3]);
my %tp = Bench::run_cmd ([Bench::limit ("task_pipe"), $opt{queue}, 5]);

my @rows = (
   ["sequential calls/s (one checkout)",        $r{seq},   $pp{rate},                 "C ping-pong round trips/s", 4300, 4900],
   ["pipelined calls/s ($opt{queue} queued)",    $r{pipe},  $tp{calls_per_s},           "C: requests in one write, one write per reply", 33000, 35000],
   ["checkouts/s ($opt{checkouts}, warm pool of 5)", $r{warm}, $pp{rate} / 2,           "C ping-pong / 2 (call + release)", 4900, 5800],
   ["fresh-worker checkouts/s ($opt{fresh}, max_checkouts 1)", $r{fresh}, $fk{forks_per_s}, "C socketpair+fork+exit+wait/s", 830, 880],
);

printf "%-52s %10s %12s   %-13s %s\n", "figure", "ours", "C limit", "original", "ours/orig";
for (@rows) {
   my ($name, $ours, $lim, $limname, $olo, $ohi) = @$_;
   printf "%-52s %10.0f %12.0f   %5d-%-7d %.1f-%.1fx   (limit: %s)\n",
      $name, $ours, $lim, $olo, $ohi, $ours / $ohi, $ours / $olo, $limname;
}
printf "fresh workers beside the fork floors measured now: %.0f%% of C's %.0f/s, %.0f%% of a bare perl's %.0f/s, %.0f%% of a perl with the server's modules' %.0f/s\n",
   map { (100 * $r{fresh} / $_, $_) } $fk{forks_per_s}, $pf{forks_per_s}, $sf{forks_per_s};
printf "pipelined CPU per call: client %.1f us, worker %.1f us: %.0f calls/s if the two take turns on one core, %.0f if each has a core\n",
   $r{pipe_client}, $r{pipe_worker}, 1e6 / ($r{pipe_client} + $r{pipe_worker}), 1e6 / ($r{pipe_client} > $r{pipe_worker} ? $r{pipe_client} : $r{pipe_worker})
   if $r{pipe_client} && $r{pipe_worker};
printf "a fresh worker when it answers its first call: %.0f us of CPU, %d page faults (its own, from its fork on)\n", $r{fresh_us}, $r{fresh_flt}
   if defined $r{fresh_us};
print "AnyEvent model: $AnyEvent::MODEL\n";
