# Options and call forms: the function form, a duck-typed template (a
# blessed scalar: the pool only calls require, eval and fork), defaults
# applied with logical or (0 means the default), on_event's no-op default.
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

my $code = q{
   our ($REL) = @arg;
   sub job {
      AnyEvent::Fork::RPC::event (start => $$);
      sysread $REL, my $buf, 1;
      $$
   }
};

my $template = AnyEvent::Fork->new->send_fh ($rel_r)->eval ($code);
undef $rel_r;

# a fork object that is not an array and has only the methods Pool uses
{
   package Duck;
   my @calls;
   sub calls { splice @calls }
   sub new { my ($class, $real) = @_; bless \$real, $class }
   sub require { my $self = shift; push @calls, "require @_"; $$self->require (@_); $self }
   sub eval { my $self = shift; push @calls, "eval"; $$self->eval (@_); $self }
   sub fork { my $self = shift; push @calls, "fork"; $$self->fork }
}

{
   my $finish = AE::cv;
   my $duck = Duck->new (AnyEvent::Fork->new->eval (q{ sub twice { 2 * $_[0] } }));
   my $pool = AnyEvent::Fork::Pool::run ($duck, "twice", idle => 1, on_destroy => $finish);
   is_deeply [Duck::calls], ["require AnyEvent::Fork::RPC::Sync", "eval", "fork"], "function form, duck-typed template: require, eval, one fork for idle => 1";
   $pool->(21, my $cv = AE::cv);
   is $cv->recv, 42, "the job runs";
   undef $pool;
   $finish->recv;
   pass "on_destroy";
   Duck::calls; # (a second worker may have been started to keep one idle)

   $finish = AE::cv;
   $pool = AnyEvent::Fork::Pool::run (Duck->new (AnyEvent::Fork->new->eval (q{ sub adone { $_[0]->(3) } })), "adone", async => 1, on_destroy => $finish);
   is_deeply [Duck::calls], ["require AnyEvent::Fork::RPC::Async", "eval"], "async: the Async backend, no worker before the first job";
   $pool->($cv = AE::cv);
   is $cv->recv, 3, "the async job runs";
   undef $pool;
   $finish->recv;
}

# 0 means the default: max 4, load 2, start 0.1 s, stop 10 s
{
   my $finish = AE::cv;
   my %started;
   my $done = 0;
   my $pool = $template->AnyEvent::Fork::Pool::run ("job",
      max => 0, load => 0, start => 0, stop => 0, idle => 0,
      on_event => sub { $started{$_[1]} = AE::now },
      on_destroy => $finish);

   my $t0 = AE::now; # the start timer's clock
   $pool->(sub { $done++ }) for 1 .. 9;
   is stats ($pool), "1,0,7", "load => 0: two jobs at the first worker";
   wait_until { stats ($pool) eq "4,0,1" };
   pass "max => 0: the pool grows to 4 workers";
   my $t4 = AE::now - $t0;
   ok $t4 >= 0.299, sprintf "start => 0: three more workers after at least 3 x 0.1 s (%.3f s)", $t4;
   wait_until { keys %started == 4 };
   run_for 0.2;
   is stats ($pool), "4,0,1", "no fifth worker";

   syswrite $rel_w, "x" x 9;
   wait_until { $done == 9 };
   is stats ($pool), "4,4,0", "all idle";
   run_for 0.3;
   is stats ($pool), "4,4,0", "stop => 0, idle => 0: no worker stopped";
   undef $pool;
   $finish->recv;
}

# idle => 1 with stop => 0: the 10 s default, not an immediate stop
{
   my $finish = AE::cv;
   my $done = 0;
   my $pool = $template->AnyEvent::Fork::Pool::run ("job", idle => 1, load => 1, max => 2, stop => 0, start => 0.01, on_destroy => $finish);
   $pool->(sub { $done++ }) for 1, 2;
   wait_until { stats ($pool) eq "2,0,0" };
   syswrite $rel_w, "xx";
   wait_until { $done == 2 };
   run_for 0.3;
   is stats ($pool), "2,2,0", "stop => 0: idle workers are not stopped within 0.3 s";
   undef $pool;
   $finish->recv;
}

# on_event: a no-op by default, where RPC would report an error
{
   my @log;
   my $ctx = AnyEvent::Log::ctx ("AnyEvent::Fork::RPC");
   $ctx->log_cb (sub { push @log, $_[0]; 1 });
   $ctx->level ("debug");

   my $finish = AE::cv;
   my $pool = $template->AnyEvent::Fork::Pool::run ("job", on_destroy => $finish);
   syswrite $rel_w, "x";
   $pool->(my $cv = AE::cv);
   ok $cv->recv, "a job that sends an event completes";
   undef $pool;
   $finish->recv;
   is_deeply \@log, [], "without on_event the event is ignored, nothing is logged";
}

done_testing;
