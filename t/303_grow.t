# Growing and shrinking: idle workers exist before the first job, the start
# timer adds workers while jobs wait (up to max), the stop timer removes
# idle ones (only when armed: idle => 0 keeps them), and the processes
# follow. Jobs block on a pipe until the test releases them.
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp qw(wait_until run_for alive stats);

use strict;
use warnings;
use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

my $code = q{
   our ($REL, $PIDW) = @arg;
   sub init { syswrite $PIDW, "$$\n" }
   sub job {
      my ($i) = @_;
      AnyEvent::Fork::RPC::event (start => $i, $$);
      sysread $REL, my $buf, 1;
      ($i, $$)
   }
};

# a template whose workers block on $rel and report their pid on start
sub setup {
   pipe my $rel_r, my $rel_w or die "pipe: $!";
   pipe my $pid_r, my $pid_w or die "pipe: $!";
   my $template = AnyEvent::Fork->new->send_fh ($rel_r, $pid_w)->eval ($code);
   my @pids;
   my $buf = "";
   my $w = AE::io $pid_r, 0, sub {
      sysread $pid_r, $buf, 100, length $buf;
      push @pids, $1 while $buf =~ s/^(\d+)\n//;
   };
   ($template, $rel_w, \@pids, $w)
}

SKIP: {
   skip "needs /proc", 1 unless -r "/proc/$$/stat";

# idle workers: started at creation, kept at "idle" while jobs run
{
   my ($template, $rel, $pids, $pid_watcher) = setup;
   my $finish = AE::cv;
   my @started;
   my $pool = $template->AnyEvent::Fork::Pool::run ("job",
      init => "init", idle => 2, max => 4, load => 1, start => 0.01,
      on_event => sub { push @started, [@_[1, 2]] }, on_destroy => $finish);

   is stats ($pool), "2,2,0", "idle => 2: two idle workers right away";
   wait_until { @$pids == 2 };
   ok alive $pids->[0] && alive $pids->[1], "two worker processes ran init before any job";

   my %done;
   $pool->(1, sub { $done{$_[0]} = $_[1] });
   is stats ($pool), "2,1,0", "the first job makes one of them busy";

   wait_until { @started == 1 };
   ok +(grep $_ == $started[0][1], @$pids), "it runs on one of the idle workers";

   wait_until { stats ($pool) eq "3,2,0" };
   pass "a third worker is started to keep two idle";
   wait_until { @$pids == 3 };
   run_for 0.1;
   is stats ($pool), "3,2,0", "and no fourth one (start period 0.01 s, waited 0.1 s)";

   syswrite $rel, "x";
   wait_until { keys %done == 1 };
   is $done{1}, $started[0][1], "the job completes on its worker";
   is stats ($pool), "3,3,0", "three idle workers";

   undef $pool;
   $finish->recv;
   pass "on_destroy";
   wait_until { !grep alive $_, @$pids };
   pass "all three processes exit";
}

# growth under load up to max; idle => 0 never stops a worker
{
   my ($template, $rel, $pids, $pid_watcher) = setup;
   my $finish = AE::cv;
   my (%started, %done, $over);
   my $pool;
   $pool = $template->AnyEvent::Fork::Pool::run ("job",
      init => "init", max => 3, load => 1, start => 0.02, stop => 0.02,
      on_event => sub {
         $started{$_[1]} = $_[2];
         $over++ if (AnyEvent::Fork::Pool::stats $pool)[0] > 3;
      },
      on_destroy => $finish);

   is stats ($pool), "0,0,0", "no workers before the first job";
   $pool->($_, sub { $done{$_[0]} = $_[1] }) for 1 .. 5;
   is stats ($pool), "1,0,4", "the first job starts one worker, four jobs wait";

   wait_until { keys %started == 3 };
   is stats ($pool), "3,0,2", "the start timer grew the pool to max => 3";
   my %running = reverse %started;
   is keys %running, 3, "three jobs run in three processes";
   run_for 0.2;
   is stats ($pool), "3,0,2", "the pool stays at max (waited 10 start periods)";
   is keys %started, 3, "no further job started";

   syswrite $rel, "x" x 5;
   wait_until { keys %done == 5 };
   my %ran = map { $_ => 1 } values %done;
   is_deeply [sort keys %ran], [sort keys %running], "all five jobs ran in those three processes";
   is $over, undef, "never more than max workers";
   is stats ($pool), "3,3,0", "three idle workers";

   run_for 0.2;
   is stats ($pool), "3,3,0", "idle => 0: idle workers are kept (stop 0.02 s, waited 0.2 s)";
   is scalar (grep alive $_, keys %running), 3, "their processes are alive";

   undef $pool;
   $finish->recv;
   wait_until { !grep alive $_, keys %running };
   pass "they exit after the pool is destroyed";
}

# shrinking: idle => 1 arms the stop timer when a worker turns idle
{
   my ($template, $rel, $pids, $pid_watcher) = setup;
   my $finish = AE::cv;
   my (%started, %done);
   my $pool = $template->AnyEvent::Fork::Pool::run ("job",
      init => "init", idle => 1, max => 2, load => 1, start => 0.01, stop => 0.02,
      on_event => sub { $started{$_[1]} = $_[2] }, on_destroy => $finish);

   is stats ($pool), "1,1,0", "one idle worker";
   $pool->($_, sub { $done{$_[0]} = $_[1] }) for 1, 2;
   wait_until { keys %started == 2 };
   is stats ($pool), "2,0,0", "two busy workers";
   my @pids = values %started;

   syswrite $rel, "x";
   wait_until { keys %done == 1 };
   my ($first) = values %done;
   my ($other) = grep $_ != $first, @pids;
   wait_until { stats ($pool) eq "1,0,0" };
   pass "the stop timer stops the idle worker";
   wait_until { !alive $first };
   pass "its process exits";
   ok alive $other, "the busy one is still there";

   syswrite $rel, "x";
   wait_until { stats ($pool) eq "0,0,0" };
   pass "it is stopped too once idle (the timer stops down to 0 idle workers)";
   wait_until { !alive $other };
   pass "its process exits";

   $pool->(3, sub { $done{$_[0]} = $_[1] });
   is stats ($pool), "1,0,0", "a new job starts a new worker";
   syswrite $rel, "x";
   wait_until { keys %done == 3 };
   ok !grep ($_ == $done{3}, @pids), "job 3 ran in a new process";

   undef $pool;
   $finish->recv;
   pass "on_destroy";
}

}

done_testing;
