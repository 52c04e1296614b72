# Load balancing: no worker ever has more than "load" jobs (async workers
# count the jobs they run at once), and jobs go to the least loaded worker.
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp qw(wait_until run_for alive);

use strict;
use warnings;
use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;


my $async_code = q{
   use AnyEvent ();
   our $RUNNING = 0;
   sub ajob {
      my ($done, $i, $ms) = @_;
      my $now = ++$RUNNING;
      my $w; $w = AE::timer ($ms / 1000, 0, sub {
         undef $w;
         --$RUNNING;
         $done->($i, $$, $now);
      });
   }
};

for my $load (1, 3) {
   my $finish = AE::cv;
   my $all = AE::cv;
   my $pool = AnyEvent::Fork
      ->new
      ->eval ($async_code)
      ->AnyEvent::Fork::Pool::run ("ajob", async => 1, max => 3, load => $load, start => 0.01, on_destroy => $finish);

   my $jobs = 60;
   my (%max, %seen, $done);
   my ($overload, $wrong) = (0, 0);

   for my $i (1 .. $jobs) {
      $pool->($i, int rand 20, sub {
         my ($j, $pid, $now) = @_;
         $wrong++ if $j != $i || $seen{$j}++;
         $max{$pid} = $now if $now > ($max{$pid} || 0);
         ++$done;

         # jobs handed out and not yet answered, as the pool sees them
         my ($workers, $idle, $queued) = AnyEvent::Fork::Pool::stats $pool;
         $overload++ if $jobs - $done - $queued > $workers * $load || $workers > 3;

         $all->send if $done == $jobs;
      });
   }

   $all->recv;
   is $wrong, 0, "load $load: every job answered once, with its own result";
   is $overload, 0, "load $load: never more jobs out than workers x load";
   my @over = grep $max{$_} > $load, keys %max;
   is "@over", "", "load $load: no worker ever ran more than $load jobs at once";
   ok keys %max <= 3, "load $load: at most max => 3 workers ran jobs (" . (keys %max) . ")";

   undef $pool;
   $finish->recv;
   pass "load $load: on_destroy";
}

# least loaded first: two idle workers, load 2, jobs block until released
{
   pipe my $rel_r, my $rel_w or die "pipe: $!";
   my $finish = AE::cv;
   my (@started, %result);

   my $pool = AnyEvent::Fork
      ->new
      ->send_fh ($rel_r)
      ->eval (q{
           our $REL = $arg[0];
           sub job {
              my ($i) = @_;
              AnyEvent::Fork::RPC::event (start => $i, $$);
              sysread $REL, my $buf, 1;
              ($i, $$)
           }
        })
      ->AnyEvent::Fork::Pool::run ("job", max => 2, idle => 2, load => 2,
           on_event   => sub { push @started, [@_[1, 2]] if $_[0] eq "start" },
           on_destroy => $finish);
   undef $rel_r; # the send queue keeps it until it is sent

   is_deeply [AnyEvent::Fork::Pool::stats $pool], [2, 2, 0], "idle => 2: two idle workers before any job";

   my $all = AE::cv;
   $pool->($_, sub { $result{$_[0]} = $_[1]; $all->send if keys %result == 5 })
      for 1 .. 5;

   is_deeply [AnyEvent::Fork::Pool::stats $pool], [2, 0, 1], "5 jobs: both workers at load 2, one job queued";

   wait_until { @started == 2 };
   my %first = map { $_->[0] => $_->[1] } @started;
   is_deeply [sort keys %first], [1, 2], "jobs 1 and 2 run first";
   isnt $first{1}, $first{2}, "... on different workers (least loaded first)";

   syswrite $rel_w, "x" x 5;
   $all->recv;

   my %per_pid;
   $per_pid{$_}++ for values %result;
   is_deeply [sort values %per_pid], [2, 3], "the workers ran 2 and 3 of the 5 jobs";
   is $result{1}, $first{1}, "job 1 result from the worker it started on";

   undef $pool;
   $finish->recv;
   pass "on_destroy";
}

done_testing;
