#!/usr/bin/perl

# examples/pool-progress.pl - a few thousand jobs through a worker pool,
# with a live progress line from AnyEvent::Fork::Pool::stats.
#
#    perl Makefile.PL && make && perl -Mblib examples/pool-progress.pl [JOBS]

use strict;
use warnings;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

my $jobs = shift || 4000;

my $finish = AE::cv;

my $pool = AnyEvent::Fork
   ->new
   ->eval (q{
        # a job: up to 4 ms of "work"
        sub work {
           select undef, undef, undef, rand 0.004;
           $_[0] * 2
        }
     })
   ->AnyEvent::Fork::Pool::run ("work",
        max        => 2 * (AnyEvent::Fork::Pool::ncpu || 2),
        idle       => 1,
        start      => 0.05,
        stop       => 0.5,
        on_destroy => $finish,
     );

my ($done, $sum) = (0, 0);
my $all = AE::cv;
my $result = sub { # one callback for every job
   $sum += $_[0];
   ++$done == $jobs and $all->send;
};

$pool->($_, $result) for 1 .. $jobs;

my $show = sub {
   my ($workers, $idle, $queued) = AnyEvent::Fork::Pool::stats $pool;
   printf STDERR "\r%6d of %d done, %6d queued, %2d workers, %2d idle ",
      $done, $jobs, $queued, $workers, $idle;
};

my $ticker = AE::timer 0, 0.1, $show;

$all->recv;
$show->();
print STDERR "\n";
undef $ticker;

undef $pool;     # the workers exit ...
$finish->recv;   # ... and then on_destroy fires

print "sum of results: $sum (expected ", $jobs * ($jobs + 1), ")\n";
