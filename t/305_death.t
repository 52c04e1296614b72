# Worker death: a worker killed while it has jobs is reported through
# on_error with RPC's text, leaves the pool at once, and its lost jobs are
# not retried (their callbacks never run); the other jobs complete on the
# remaining workers or on new ones. Without on_error the report goes to
# on_event as (error => $message), or to the log.
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp qw(wait_until run_for alive stats);

use strict;
use warnings;
use Test::More;

use AnyEvent;
use AnyEvent::Log;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

pipe my $rel_r, my $rel_w or die "pipe: $!";
pipe my $started_r, my $started_w or die "pipe: $!";

my $template = AnyEvent::Fork->new->send_fh ($rel_r, $started_w)->eval (q{
   our ($REL, $STARTED) = @arg;
   sub job {
      my ($i) = @_;
      AnyEvent::Fork::RPC::event (start => $i, $$);
      sysread $REL, my $buf, 1;
      ($i, $$)
   }
   sub lonely { syswrite $STARTED, "$$\n"; &job } # reports its start without an event
});
undef $rel_r;
undef $started_w;

# kill the worker of job 1 while it runs; $load jobs per worker
sub scenario {
   my ($load, %opt) = @_;

   my $finish = AE::cv;
   my (%started, %done, @errors, @events, $at_error);
   my $pool;

   $pool = $template->AnyEvent::Fork::Pool::run ("job",
      max => 2, idle => 2, load => $load, start => 0.01,
      ($opt{on_error} ? (on_error => sub { push @errors, $_[0]; $at_error = stats $pool }) : ()),
      on_event => sub {
         if ($_[0] eq "start") { $started{$_[1]} = $_[2] }
         else { push @events, [@_]; $at_error = stats $pool }
      },
      on_destroy => $finish);

   # jobs 1 and 2 run on the two workers; then $load - 1 more wait at each
   # (unread in its socket, as the worker is busy), and two in the pool
   my $jobs = 2 * $load + 2;
   $pool->($_, sub { $done{$_[0]} = $_[1] }) for 1, 2;
   wait_until { keys %started == 2 };
   $pool->($_, sub { $done{$_[0]} = $_[1] }) for 3 .. $jobs;
   is stats ($pool), "2,0,2", "load $load: two busy workers, two jobs queued";

   my $victim = $started{1};

   kill KILL => $victim;

   ($opt{wait} || sub { wait_until { @errors } })->(\@errors, \@events);
   is $at_error, "1,0,2", "load $load: the dead worker left the pool before the report";

   $pool->($_, sub { $done{$_[0]} = $_[1] }) for $jobs + 1 .. $jobs + 2;

   # lost: job 1, and with load 2 one of jobs 3 and 4 (equal loads tie);
   # release exactly the others
   my $lost = $load;
   syswrite $rel_w, "x" x ($jobs + 2 - $lost);
   wait_until { keys %done == $jobs + 2 - $lost };
   my @lost = grep !$done{$_}, 1 .. $jobs + 2;
   is "@lost", $load == 1 ? "1" : "1 " . (grep (!$done{$_}, 3, 4))[0], "load $load: every job but the dead worker's completes";
   ok !grep ($_ == $victim, values %done), "load $load: none of them on the dead worker";

   undef $pool;
   $finish->recv;
   is keys %done, $jobs + 2 - $lost, "load $load: the lost jobs' callbacks never ran";

   (\@errors, \@events)
}

# with an outstanding job only: end-of-file
my ($errors) = scenario (1, on_error => 1);
is_deeply $errors, ["unexpected eof"], "one report: unexpected eof";

# with a request still unread in the dead worker's socket: reset
($errors) = scenario (2, on_error => 1);
is_deeply $errors, ["read: Connection reset by peer"], "one report: read: Connection reset by peer";

# without on_error: on_event gets (error => $message)
my (undef, $events) = scenario (1, wait => sub { my $ev = $_[1]; wait_until { @$ev } });
is_deeply $events, [[error => "unexpected eof"]], "without on_error, on_event gets the error";

# without either: the log, as RPC would log it
{
   my @log;
   my $ctx = AnyEvent::Log::ctx ("AnyEvent::Fork::RPC");
   $ctx->log_cb (sub { push @log, $_[0]; 1 });
   $ctx->fmt_cb (sub { $_[2] . " " . $_[1]->title . ": $_[3]" });
   $ctx->level ("debug");

   my $finish = AE::cv;
   my %done;
   my $pool = $template->AnyEvent::Fork::Pool::run ("lonely", max => 1, load => 1, on_destroy => $finish);
   my $pid;
   $pool->(1, sub { $done{1} = 1 });
   $pool->(2, sub { $done{2} = $_[1] });

   # no on_event: the job reports its start through a pipe
   my $buf = "";
   my $io = AE::io $started_r, 0, sub { sysread $started_r, $buf, 100, length $buf };
   wait_until { $buf =~ /^(\d+)\n/ and $pid = $1 };
   kill KILL => $pid;
   wait_until { @log };
   is_deeply \@log, ["4 AnyEvent::Fork::RPC: AnyEvent::Fork::RPC: uncaught error: unexpected eof."], "neither: logged at level error by AnyEvent::Fork::RPC";

   syswrite $rel_w, "x";
   wait_until { $done{2} };
   isnt $done{2}, $pid, "job 2 completes in a new worker";
   undef $pool;
   $finish->recv;
   ok !$done{1}, "job 1 is lost";
}

done_testing;
