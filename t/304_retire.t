# Retirement: a worker that calls AnyEvent::Fork::Pool::retire () leaves the
# pool at once, still finishes the jobs it has, and exits; the pool starts a
# replacement. Retiring twice changes nothing more (fixed: it used to count
# an idle worker too few).
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp qw(wait_until run_for alive stats);

use strict;
use warnings;
use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

plan skip_all => "needs /proc" unless -r "/proc/$$/stat";

pipe my $rel_r, my $rel_w or die "pipe: $!";

my $template = AnyEvent::Fork->new->send_fh ($rel_r)->eval (q{
   our ($REL) = @arg;
   sub job {
      my ($i, $retire) = @_;
      if ($retire) {
         AnyEvent::Fork::Pool::retire () for 1 .. $retire;
         AnyEvent::Fork::RPC::event (retired => $i, $$);
      }
      AnyEvent::Fork::RPC::event (start => $i, $$);
      sysread $REL, my $buf, 1;
      ($i, $$)
   }
});
undef $rel_r;

my $finish = AE::cv;
my (%started, %retired, %done, $pool);

$pool = $template->AnyEvent::Fork::Pool::run ("job",
   max => 2, load => 2, start => 0.01,
   on_event => sub {
      my ($what, $i, $pid) = @_;
      $started{$i} = $pid if $what eq "start";
      $retired{$i} = [$pid, stats $pool] if $what eq "retired";
   },
   on_destroy => $finish);

$pool->(1, 1, sub { $done{$_[0]} = $_[1] });
$pool->(2, 0, sub { $done{$_[0]} = $_[1] });
is stats ($pool), "1,0,0", "one worker with two jobs";

wait_until { $retired{1} };
my $w1 = $retired{1}[0];
is $retired{1}[1], "0,0,0", "retire () takes the busy worker out of the pool at once";

$pool->(3, 0, sub { $done{$_[0]} = $_[1] });
is stats ($pool), "1,0,0", "the next job starts a replacement";
wait_until { $started{3} };
isnt $started{3}, $w1, "job 3 runs in the replacement";

syswrite $rel_w, "xxx";
wait_until { keys %done == 3 };
is $done{1}, $w1, "the retiring job completes";
is $done{2}, $w1, "the job already queued at the retired worker completes there";
wait_until { !alive $w1 };
pass "the retired worker exits";
my $w2 = $started{3};
ok alive $w2, "the replacement lives on";
is stats ($pool), "1,1,0", "one idle worker";

# retire twice from one job
$pool->(4, 2, sub { $done{$_[0]} = $_[1] });
wait_until { $retired{4} };
is $retired{4}[0], $w2, "job 4 retires the idle worker it got";
is $retired{4}[1], "0,0,0", "the second retire () changes nothing";
syswrite $rel_w, "x";
wait_until { $done{4} };
is stats ($pool), "0,0,0", "still consistent after the job completed";

$pool->(5, 0, sub { $done{$_[0]} = $_[1] });
syswrite $rel_w, "x";
wait_until { $done{5} };
is stats ($pool), "1,1,0", "a new worker ran job 5 and is idle";
ok !grep ($_ == $done{5}, $w1, $w2), "in a new process";
wait_until { !alive $w2 };
pass "the twice retired worker exits";

is_deeply [sort keys %done], [1 .. 5], "every job completed";

undef $pool;
$finish->recv;
pass "on_destroy";

done_testing;
