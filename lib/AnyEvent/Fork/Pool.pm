=head1 NAME

AnyEvent::Fork::Pool - simple process pool manager on top of AnyEvent::Fork

=head1 SYNOPSIS

   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::Pool;

   # all possible parameters shown, with default values
   my $pool = AnyEvent::Fork
      ->new
      ->require ("MyWorker")
      ->AnyEvent::Fork::Pool::run (
           "MyWorker::run", # the worker function

           # pool management
           max        => 4,   # absolute maximum # of processes
           idle       => 0,   # minimum # of idle processes
           load       => 2,   # queue at most this number of jobs per process
           start      => 0.1, # wait this many seconds before starting a new process
           stop       => 10,  # wait this many seconds before stopping an idle process
           on_destroy => (my $finish = AE::cv), # called when object is destroyed

           # parameters passed to AnyEvent::Fork::RPC
           async      => 0,
           on_error   => sub { die "FATAL: $_[0]\n" },
           on_event   => sub { my @ev = @_ },
           init       => "MyWorker::init",
           serialiser => $AnyEvent::Fork::RPC::STRING_SERIALISER,
        );

   for (1..10) {
      $pool->(doit => $_, sub {
         print "MyWorker::run returned @_\n";
      });
   }

   # how busy is it? (an extension of this implementation)
   my ($workers, $idle, $queued) = AnyEvent::Fork::Pool::stats $pool;

   undef $pool;

   $finish->recv;

=head1 DESCRIPTION

This is a drop-in replacement for Marc Lehmann's AnyEvent::Fork::Pool 1.3.
It manages a pool of worker processes, all forked from one template
process, each running an L<AnyEvent::Fork::RPC> server for the same
function. Jobs are queued and handed to the least loaded worker; workers
are started while jobs wait (up to C<max>), and idle workers are stopped
again after a while when more than C<idle> of them exist.

Unlike the original it does not need L<Array::Heap>: the scheduler's heap
lives in the distribution's C core (see L<AnyEvent::Fork::Core>), and the
pool's per-job work is small enough that a pool of tiny jobs runs several
times faster than the original's.

Loading this module loads L<AnyEvent>, L<AnyEvent::Fork> and
L<AnyEvent::Fork::RPC>.

=head1 CONCEPTS

=head2 Template, workers and jobs

You give the pool a I<template>: a fork object (normally from
L<AnyEvent::Fork>) that has loaded the code the workers need. The pool
owns it from then on. Each worker is a C<fork> of the template that runs
L<AnyEvent::Fork::RPC> for your function, so everything loaded into the
template is shared by all workers, and starting a worker is cheap.

Calling the pool, C<< $pool->(@args, $cb) >>, queues a I<job>. The
scheduler hands queued jobs to the worker with the fewest jobs
outstanding, as long as that worker has fewer than C<load>. A worker with
C<load> jobs is full; when all are full, jobs wait in the pool's queue,
and the pool starts another worker (at most one per C<start> seconds, at
most C<max> in all). The result of each job goes to its callback, like an
RPC result.

=head2 Growing and shrinking

The pool starts C<idle> workers right away (none by default) and more
while jobs are waiting. A worker whose last job finished is idle. When a
worker turns idle and at most C<idle> workers are idle, a stop timer is
armed that stops one idle worker every C<stop> seconds while more than
C<idle> are idle. A consequence (the original's behaviour, kept): with
the default C<< idle => 0 >>, the stop timer is never armed, and workers
are only stopped when the pool is destroyed. Set C<idle> to 1 or more if
you want surplus workers to go away during the pool's life. For example,
after nine short jobs through a pool with C<< max => 3, load => 1, stop =>
0.3 >>, C<stats> reports 3 workers 1.5 seconds later with C<< idle => 0 >>,
1 with C<< idle => 1 >> and 2 with C<< idle => 2 >>.

=head2 Synchronous or asynchronous workers

With the default synchronous backend a worker runs one job at a time;
C<load> only says how many jobs may wait in its socket, so that it finds
the next one at once. With C<< async => 1 >> a worker runs up to C<load>
jobs at the same time in its event loop: use it for jobs that mostly
wait. See L<AnyEvent::Fork::RPC/Choosing a backend: synchronous or
asynchronous>.

=head2 Shutdown

Dropping the last reference to the pool does not cancel anything: the
jobs queued and running still complete and their callbacks run; then
every worker is told to finish and exits, the template is released, and
C<on_destroy> is called once the last worker has gone.

=head2 Choosing the parameters

=over

=item CPU-bound jobs

C<< max => scalar AnyEvent::Fork::Pool::ncpu (2) >> (one worker per
core; more only adds switching), C<< load => 2 >> (the default: a worker
always has its next job waiting in its socket) or C<< load => 1 >> when
jobs are long and unequal (no job waits behind a long one while another
worker is idle).

=item Very many tiny jobs

Raise C<load> (C<10> to C<100>): every job then travels in a batch with
others instead of costing a round trip through the kernel and a context
switch. Throughput grows by a large factor; balancing among workers gets
coarser.

=item Jobs that wait (network, timers)

C<< async => 1 >>, few workers (C<max> 1 to C<ncpu>) and a high C<load>
(how many jobs one worker may have in progress).

=item Bursts, and latency of the first job

C<< idle => 1 >> or more keeps that many workers ready, so a burst does
not wait for workers to start; a small C<start> (C<0.01>) lets the pool
grow quickly; C<stop> says how soon surplus workers go after the burst.

=item Leaky or crashy code

Call C<AnyEvent::Fork::Pool::retire ()> in the worker after some number
of jobs (or when it has grown too large): it finishes what it has and
exits, and the pool starts a fresh copy of the template when needed.

=back

=head1 EXAMPLES

=head2 CPU-bound jobs on every core

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::Pool;

   my $pool = AnyEvent::Fork
      ->new
      ->require ("Digest::SHA")
      ->eval (q{
           sub hash_rounds {
              my ($seed, $rounds) = @_;
              my $h = $seed;
              $h = Digest::SHA::sha256_hex ($h) for 1 .. $rounds;
              ($seed, $h)
           }
        })
      ->AnyEvent::Fork::Pool::run ("hash_rounds",
           max        => scalar AnyEvent::Fork::Pool::ncpu (2), # a worker per core
           load       => 1,                              # one job at a time each
           on_destroy => (my $finish = AE::cv),
        );

   for my $seed (qw(apple banana cherry damson elder fig)) {
      $pool->($seed, 50_000, sub {
         my ($seed, $h) = @_;
         printf "%-8s %s\n", $seed, substr $h, 0, 16;
      });
   }

   undef $pool;     # the queued jobs still run
   $finish->recv;   # every job done, every worker gone

=head2 Workers that retire, and a pool that shrinks

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::Pool;

   my $pool = AnyEvent::Fork
      ->new
      ->eval (q{
           my $jobs = 0;
           sub work {
              AnyEvent::Fork::Pool::retire ()   # no jobs after this one
                 if ++$jobs == 5;
              "$$:$jobs"
           }
        })
      ->AnyEvent::Fork::Pool::run ("work",
           max        => 2,
           idle       => 1,     # keep one worker ready, and stop surplus idle ones
           stop       => 0.5,   # ... half a second apart
           on_destroy => (my $finish = AE::cv),
        );

   my %pid;
   my $all = AE::cv;
   for (1 .. 20) {
      $all->begin;
      $pool->(sub { my ($pid, $n) = split /:/, $_[0]; $pid{$pid} = $n; $all->end });
   }
   $all->recv;
   printf "%d jobs were served by %d workers\n", 20, scalar keys %pid;

   my ($workers, $idle, $queued) = AnyEvent::Fork::Pool::stats ($pool);
   print "now: $workers workers, $idle idle, $queued queued\n";

   undef $pool;
   $finish->recv;

=head2 An asynchronous pool for jobs that wait

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::Pool;

   my $pool = AnyEvent::Fork
      ->new
      ->require ("AnyEvent")
      ->eval (q{
           my %w;
           sub wait_and_answer {          # stands for a network request
              my ($done, $id, $secs) = @_;
              $w{$id} = AE::timer $secs, 0, sub { delete $w{$id}; $done->($id, $$) };
           }
        })
      ->AnyEvent::Fork::Pool::run ("wait_and_answer",
           async => 1,
           max   => 2,
           load  => 20,   # up to 20 jobs in progress per worker
        );

   my $t0 = AE::now;
   my $all = AE::cv;
   my %by;
   for my $id (1 .. 40) {
      $all->begin;
      $pool->($id, 0.5, sub { $by{$_[1]}++; $all->end });
   }
   $all->recv;
   AE::now_update;
   printf "40 jobs of 0.5 s in %.1f s, by %d workers\n", AE::now - $t0, scalar keys %by;

The distribution's F<examples/pool-progress.pl> shows a live progress line
made with C<stats>.

=head1 FUNCTIONS

=over

=item $pool = AnyEvent::Fork::Pool::run ($template, $function, key => value...)

Usually written C<< $template->AnyEvent::Fork::Pool::run ($function, ...) >>.
C<$template> is a fork object (normally an L<AnyEvent::Fork>) from which
every worker is forked; it belongs to the pool from now on. C<$function>
is the name of the function each worker runs for each job (see
L<AnyEvent::Fork::RPC>). The pool first sends the template the RPC backend
(C<require>) and the definition of C<AnyEvent::Fork::Pool::retire>
(C<eval>), then starts C<idle> workers.

Every default is applied with a logical or, so a false value, B<0
included>, selects the default:

=over

=item max => $count (default: 4)

Maximum number of workers in the pool. Workers that were retired and are
still finishing their jobs do not count.

=item idle => $count (default: 0)

Minimum number of idle workers; also the number started right away. The
stop timer (below) is only armed when a worker turns idle while there are
at most this many idle workers, so with the default of 0 idle workers are
kept until the pool is destroyed (the original's behaviour).

=item load => $count (default: 2)

Maximum number of jobs outstanding at one worker at any time. Higher
values let a worker queue more jobs and raise the throughput of very short
jobs considerably, at the expense of balancing.

=item start => $seconds (default: 0.1)

Minimum delay between starting workers while jobs are waiting.

=item stop => $seconds (default: 10)

Minimum delay between stopping idle workers.

=item on_destroy => $callback->() (default: none)

Called once, after the pool object has been destroyed, every queued job
has completed and every worker has closed its connection (exited). May be
a condvar.

=item async => $bool, init => $function, serialiser => $string

Passed to L<AnyEvent::Fork::RPC::run> for every worker (defaults: false,
none, the string serialiser). C<init> runs once in every worker, with the
values sent to the template with C<send_arg> / C<send_fh>.

=item on_event => $callback->(@event) (default: ignore events)

Receives every event a worker sends, except the pool's own retire events.
Unlike L<AnyEvent::Fork::RPC>, events without an C<on_event> are not an
error.

=item on_error => $callback->($message)

Called with L<AnyEvent::Fork::RPC>'s message when a worker fails, for
example C<unexpected eof> when it dies with jobs outstanding. Without
C<on_error> the message goes to C<on_event> as C<< (error => $message) >>
when C<on_event> was given, and is otherwise logged the way
L<AnyEvent::Fork::RPC> logs uncaught errors.

The failed worker leaves the pool before the report: the jobs it had are
lost (their callbacks never run; this report is all there is about them,
they are not retried), and the remaining jobs go to the other workers, or
to new ones.

One exception: a worker that never connected (C<connection failed>, from
an L<AnyEvent::Fork::Remote> template whose command could not reach its
host) was sent nothing, so its jobs go back to the front of the queue.
When workers keep failing to connect - more than twice C<max> times
without one connecting in between - the jobs of each further failed
worker are given up instead, each reported as C<connection failed, job
lost>.

=back

C<done>, C<buflen>, C<buflen_req> and C<buflen_res> are ignored.

The returned C<$pool> is a code reference; destroying it (dropping the
last reference) does not cancel anything: queued and running jobs still
complete, then the workers are shut down, and C<on_destroy> is called once
the last one has gone.

=item $pool->(@args, $cb->(@results))

Queues a job: eventually a worker calls C<$function> with C<@args>, and
C<$cb> receives its results exactly like an L<AnyEvent::Fork::RPC> result
callback. Do not modify C<@args> before C<$cb> has run. Dies when the
serialiser rejects C<@args> and the job would be sent right away; when it
would be sent later, the job is dropped at that point and the exception
goes to the event loop.

Exceptions thrown by your callbacks are not caught; they reach the event
loop as in the original, but only after the pool has done its own
bookkeeping and handed out the next jobs.

=item ($workers, $idle, $queued) = AnyEvent::Fork::Pool::stats ($pool)

The pool's current state: the number of workers in the pool (what counts
against C<max>; retired workers that are still finishing jobs do not),
how many of them are idle, and the number of jobs waiting in the pool's
queue (not yet handed to a worker). Dies with C<AnyEvent::Fork::Pool::stats:
not a pool> for anything but a pool returned by C<run> that still exists.
This function is an addition of this implementation: code that calls it
does not run with the original.

=item $cpus = AnyEvent::Fork::Pool::ncpu ([$default])

=item ($cpus, $eus) = AnyEvent::Fork::Pool::ncpu ([$default])

The number of CPUs (cores) and execution units (hardware threads). On
Linux it reads F</proc/cpuinfo>: C<$eus> is the number of C<core id>
lines and C<$cpus> the number of distinct core ids among them (0 and undef
when there are none; multi-socket hosts are undercounted). When the file
cannot be read both are C<$default>, or 1 without an argument. On the BSDs
it asks C<sysctl -n hw.ncpu>; elsewhere it returns C<$default> or 1.

Mind the list context: in an option list, write
C<< max => scalar AnyEvent::Fork::Pool::ncpu >> (see L</TYPICAL PROBLEMS>).

=back

=head1 CHILD USAGE

=over

=item AnyEvent::Fork::Pool::retire ()

Call this in a worker to take it out of the pool: it gets no further jobs,
finishes the ones it already has, and exits. The pool starts a
replacement when it needs one. Write the parentheses: the function is
only defined once the worker runs.

=back

=head1 TYPICAL PROBLEMS

=over

=item The pool hangs, or ignores its options, with C<< max => ncpu >>

C<ncpu> returns two values in list context, and an option list is list
context: C<< max => AnyEvent::Fork::Pool::ncpu, load => 1 >> shifts every
following key and value by one, so C<on_destroy> and friends are lost.
Write C<< max => scalar AnyEvent::Fork::Pool::ncpu >>.

=item Idle workers never go away

With the default C<< idle => 0 >>, idle workers are only stopped when the
pool is destroyed (see L</Growing and shrinking>). Set C<idle> to at
least 1.

=item C<< load => 0 >>, C<< idle => 0 >>, C<< start => 0 >> mean the default

Every option is defaulted with a logical or, so 0 cannot be chosen where
the default is not 0; use a small positive number (C<< start => 0.001 >>).

=item Jobs lost when a worker dies

A worker that dies (or calls C<exit>) takes the jobs it had with it:
their callbacks never run, and C<on_error> gets one C<unexpected eof>.
Catch exceptions in the worker function and return them as values, or
retry from C<on_error>.

=item C<on_destroy> never comes

It needs every worker to exit. A worker function that never returns
(Sync) or never calls its done-callback (Async) keeps its worker, and
the pool, alive.

=item Worker output and C<END> blocks

Workers are forks of the template: when the template is a copy of your
main program (L<AnyEvent::Fork::Early>, L<AnyEvent::Fork::Template>),
every worker runs your C<END> blocks when it exits; see
L<AnyEvent::Fork/TYPICAL PROBLEMS>. Workers print to your STDOUT; their
buffered output is flushed before C<on_destroy> can run.

=item Modifying arguments before the job ran

The pool keeps a copy of the argument list, but a job is serialised only
when it is handed to a worker, which may be much later than the call:
data that references point to is read then. Do not change it before the
job's callback has run, or pass copies.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

The interface, defaults and scheduling are those of AnyEvent::Fork::Pool
1.3 (including the stop-timer behaviour with C<< idle => 0 >> described
above). What differs:

=over

=item * C<AnyEvent::Fork::Pool::stats> is an extension: the original has
no way to ask a pool for its size and queue.

=item * No L<Array::Heap>: the scheduler's indexed heap is in the C core.

=item * A worker that calls C<retire> twice no longer makes the pool count
one idle worker too few (which could make it hang at shutdown).

=item * A worker that dies leaves the pool; it used to stay in it with its
load, could be handed further jobs that were then silently lost, and
counted against C<max> for ever.

=item * A result callback that dies no longer stalls the queue, and a job
the serialiser rejects no longer corrupts the pool's load counts.

=item * Without C<on_error> and C<on_event> a worker's failure is logged
(as L<AnyEvent::Fork::RPC> does) instead of being ignored.

=item * Speed: the per-job work runs in C: the pool's code reference,
the scheduler (the heap included) and the workers' completion callbacks
are XSUBs, which call back into Perl only to start workers and arm
timers. A synchronous worker gets one completion callback for all its
jobs instead of a closure per job; once every worker is full a new job is
only queued, without a pass through the scheduler; and the jobs one pass
gives a worker leave in one write. F<bench/pool.pl> measures tiny-job and
1 ms-job throughput against the machine's own limit (a C pool with the
same protocol).

=back

=head2 Queued closures

A fresh callback given to the pool (C<< $pool->(@args, sub { ... }) >>) is
taken off its package's list of closures while it waits, in the pool's
queue or at a worker, and entered again just before it is called, exactly
as L<AnyEvent::Fork::RPC/Queued closures> describes: without this, perl
would spend time proportional to the number of waiting jobs freeing each
callback. Nothing about the callback differs when it runs, and callbacks
you keep a reference to (or pass on through a loop variable) are not
touched.

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::RPC>, L<AnyEvent>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers. The interface, its behaviour and the
scheduling are those of AnyEvent::Fork::Pool by Marc Lehmann, whose
design this distribution reimplements; it shares no code with it.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

package AnyEvent::Fork::Pool;

use strict;
no warnings;

use Scalar::Util ();
use B ();

use AnyEvent ();
use AnyEvent::Fork ();
use AnyEvent::Fork::RPC ();
use AnyEvent::Fork::Core ();

our $VERSION = '1.3';

# the retire event is ($MAGIC0, "quit", $MAGIC1)
my $MAGIC0 = ':t6Z@HK1N%Dx@_7?=~-7NQgWDdAs6a,jFN=wLO0*jD*1%P';
my $MAGIC1 = '<~53rexz.U`!]X[A235^"fyEoiTF\T~oH1l/N6+Djep9b~bI9`\1x%B~vWO1q*';

# A worker record is [load, heap id, rpc, done, callbacks]. The heap
# (AnyEvent::Fork::Pool::Core) keys it on element 0, which only the heap
# changes (adjust), and keeps its id in element 1. The heap owns the records
# of the workers in the pool; every other reference is weak, except the
# completion wrappers of the running jobs of async workers.
#
# Sync workers answer in order, so they get one completion callback for all
# their jobs (done), which takes the user's callbacks from a queue
# (callbacks); async workers may answer in any order and get a completion
# wrapper per job. The scheduler in xs/pool.c knows these slots and the
# pool state's below: keep both in step.
sub W_LOAD () { 0 }
sub W_RPC  () { 2 }
sub W_DONE () { 3 }
sub W_CBS  () { 4 }
sub W_PEND () { 5 } # the jobs given to it, until it proved to be connected

# pool state
sub TEMPLATE () {  0 } # the template, until shutdown
sub GUARD    () {  1 } # the destroy guard, until shutdown
sub RUN      () {  2 } # [$function, @rpc_options]
sub ASYNC    () {  3 }
sub ON_EVENT () {  4 }
sub ON_ERROR () {  5 }
sub MAX      () {  6 }
sub IDLE     () {  7 }
sub LOAD     () {  8 }
sub START    () {  9 }
sub STOP     () { 10 }
sub HEAP     () { 11 }
sub QUEUE    () { 12 } # jobs: [@args, $cb]
sub NIDLE    () { 13 } # workers in the heap with load 0
sub START_W  () { 14 }
sub STOP_W   () { 15 }
sub SHUTDOWN () { 16 }
sub FULL     () { 17 } # every worker was at full load, and nothing changed since
sub CFAIL    () { 18 } # workers that could not connect since one last could

my %STATE; # refaddr of a pool code reference => its state, for stats

# calls its code when it goes away
sub _guard (&) {
   bless [shift], "AnyEvent::Fork::Pool::Guard"
}

sub AnyEvent::Fork::Pool::Guard::DESTROY {
   $_[0][0]->();
}

sub _start_worker {
   my ($self) = @_;

   my $w = [0, undef, undef, undef, undef, []];
   my $heap = $self->[HEAP];
   my $guard = $self->[GUARD];
   my $on_event = $self->[ON_EVENT];
   my $on_error = $self->[ON_ERROR];
   my $async = $self->[ASYNC];
   my @cbs;

   Scalar::Util::weaken (my $weak = $w);

   # a job of this worker completed: the bookkeeping first (the callback
   # may die), then the user's callback, then the queue (C: xs/pool.c)
   my $done = $heap->done ($self, $w, $async ? undef : \@cbs);

   my ($function, @rpc) = @{ $self->[RUN] };

   $w->[W_RPC] = $self->[TEMPLATE]
      ->fork
      ->AnyEvent::Fork::RPC::run ($function, @rpc,
           on_event => sub {
              $self->[CFAIL] = $weak->[W_PEND] = undef if $weak && $weak->[W_PEND];

              if (@_ == 3 && $_[0] eq $MAGIC0 && $_[2] eq $MAGIC1) {
                 $guard if 0; # the destroy guard lives as long as this reader

                 _stop_worker ($self, $weak)
                    if $_[1] eq "quit" && $weak;

                 return;
              }

              &$on_event;
           },
           # the worker failed or exited on its own: it leaves the pool, and
           # the others (or a new one) serve the queue
           on_error => sub {
              # a worker that never connected (AnyEvent::Fork::Remote) was
              # sent nothing: its jobs go back to the queue, unless workers
              # keep failing to connect, then each is reported as lost
              my $pend = $_[0] eq "connection failed" && $weak && $weak->[W_PEND];
              _stop_worker ($self, $weak) if $weak;
              my $ok = eval { &$on_error; 1 };

              if ($pend && @$pend) {
                 if (++$self->[CFAIL] <= 2 * $self->[MAX]) {
                    unshift @{ $self->[QUEUE] }, @$pend;
                 } else {
                    $ok &&= eval { $on_error->("connection failed, job lost") for @$pend; 1 };
                 }
              }

              _serve ($self, $ok ? undef : $@);
           },
           on_destroy => sub {
              _stop_worker ($self, $weak) if $weak;
              _serve ($self);
           },
        );

   $w->[W_DONE] = $done;
   $w->[W_CBS]  = \@cbs unless $async;

   undef $self->[FULL];
   ++$self->[NIDLE];
   $heap->push ($w);
}

# take a worker out of the pool; dropping its RPC object lets it finish its
# jobs and exit. Workers already out of the pool are left alone.
sub _stop_worker {
   my ($self, $w) = @_;

   $self->[HEAP]->remove ($w)
      or return;

   undef $self->[FULL];

   --$self->[NIDLE]
      unless $w->[W_LOAD];

   @$w = 0; # load 0, no id, no RPC object
}

sub _want_start {
   my ($self) = @_;

   undef $self->[STOP_W];

   $self->[START_W] ||= do {
      Scalar::Util::weaken (my $s = $self);

      AE::timer $self->[START], $self->[START], sub {
         if (($s->[NIDLE] < $s->[IDLE] || @{ $s->[QUEUE] }) && $s->[HEAP]->size < $s->[MAX]) {
            _start_worker ($s);
            _serve ($s);
         } else {
            undef $s->[START_W];
         }
      }
   };
}

sub _want_stop {
   my ($self) = @_;

   $self->[STOP_W] ||= do {
      Scalar::Util::weaken (my $s = $self);

      AE::timer $self->[STOP], $self->[STOP], sub {
         _stop_worker ($s, $s->[HEAP]->top)
            if $s->[NIDLE];

         undef $s->[STOP_W]
            if $s->[NIDLE] <= $s->[IDLE];
      }
   };
}

# true once perl destroys the remaining objects at program exit (perl
# 5.14's ${^GLOBAL_PHASE} eq "DESTRUCT"): perl frees the main program's
# code, leaving B::main_cv without a CV, right before that phase begins,
# and on every perl since 5.8
sub _destructing() {
   ref B::main_cv () eq "B::SPECIAL"
}

# serve the queue after an event, then rethrow $err (an exception of a
# user callback). A job whose arguments the serialiser rejects is dropped;
# its exception is rethrown once the rest of the queue has been served.
sub _serve {
   my ($self, $err) = @_;

   # (C: xs/pool.c)
   $self->[HEAP]->serve ($self, $err);
}

# the user's callback, when it is not a plain code reference
sub _call {
   my $cb = shift;
   &$cb
}

# an async worker gets a completion wrapper per job
sub _give_async {
   my ($w, $job, $cb) = @_;

   my $done = $w->[W_DONE];
   $w->[W_RPC]->(@$job, sub { unshift @_, $cb; &$done });
}

sub _schedule {
   my ($self) = @_;

   if (@{ $self->[QUEUE] }) {
      # while jobs are queued, the least loaded worker gets the first (a
      # worker is started when there is none), until every worker is at
      # full load; then FULL is set, and until that changes new jobs only
      # need to be queued. The RPC call only queues the request; it dies
      # when the serialiser rejects the arguments, and then the job is
      # dropped before any bookkeeping was done. (C: xs/pool.c)
      $self->[HEAP]->schedule ($self);
   } elsif ($self->[SHUTDOWN]) {
      my $heap = $self->[HEAP];

      # every worker finishes what it has, then exits
      undef $_->[W_RPC]
         for $heap->records;

      undef $self->[START_W];
      undef $self->[GUARD];
      undef $self->[TEMPLATE];

      _stop_worker ($self, $heap->top)
         while $self->[NIDLE];
   }
}

sub run {
   my ($template, $function, %arg) = @_;

   my $on_event   = $arg{on_event} || sub { };
   my $on_destroy = $arg{on_destroy};

   # what RPC would do with an undefined on_error, had it not been given
   # our on_event wrapper
   my $on_error = $arg{on_error}
      || ($arg{on_event}
          ? sub { $on_event->(error => shift) }
          : sub {
               package AnyEvent::Fork::RPC; # the log context RPC uses
               AE::log die => "AnyEvent::Fork::RPC: uncaught error: $_[0].";
            });

   my $self = [];

   $self->[TEMPLATE] = $template;
   $self->[GUARD]    = _guard { $on_destroy->() if $on_destroy };
   $self->[RUN]      = [$function, async => $arg{async}, init => $arg{init}, serialiser => $arg{serialiser}];
   $self->[ON_EVENT] = $on_event;
   $self->[ON_ERROR] = $on_error;
   $self->[ASYNC]    = $arg{async};
   $self->[MAX]      = $arg{max}   || 4;
   $self->[IDLE]     = $arg{idle}  || 0;
   $self->[LOAD]     = $arg{load}  || 2;
   $self->[START]    = $arg{start} || 0.1;
   $self->[STOP]     = $arg{stop}  || 10;
   $self->[HEAP]     = AnyEvent::Fork::Pool::Core->new;
   $self->[QUEUE]    = [];
   $self->[NIDLE]    = 0;

   $template
      ->require ("AnyEvent::Fork::RPC::" . ($arg{async} ? "Async" : "Sync"))
      ->eval ('
           my ($magic0, $magic1) = @_;
           sub AnyEvent::Fork::Pool::retire() {
              AnyEvent::Fork::RPC::event ($magic0, "quit", $magic1);
           }
        ', $MAGIC0, $MAGIC1);

   _start_worker ($self)
      while $self->[HEAP]->size < $self->[IDLE];

   my $addr;

   my $shutdown = _guard {
      delete $STATE{$addr};
      $self->[SHUTDOWN] = 1;

      # (at program exit the event loop is gone: nothing left to hand out)
      _serve ($self)
         unless _destructing ();
   };

   # the pool is shut down when this code reference goes: it holds the
   # guard. It queues the job; a fresh closure leaves its package's
   # back-reference list while it waits (see "Queued closures" below); the
   # scheduler starts a worker when there is none. (C: xs/pool.c)
   my $pool = $self->[HEAP]->entry ($self, $shutdown);

   $STATE{$addr = Scalar::Util::refaddr $pool} = $self;

   $pool
}

sub stats($) {
   my $self = $STATE{Scalar::Util::refaddr $_[0]}
      or die "AnyEvent::Fork::Pool::stats: not a pool\n";

   ($self->[HEAP]->size, $self->[NIDLE], scalar @{ $self->[QUEUE] })
}

# ncpu's Linux method on a given file
sub _ncpu_cpuinfo {
   my ($file, @default) = @_;

   open my $fh, "<", $file
      or return (@default ? $default[0] : 1) x 2;

   my ($eus, %id);

   while (<$fh>) {
      if (/^core id\s*:\s*(\d+)/) {
         ++$eus;
         undef $id{$1};
      }
   }

   (scalar keys %id, $eus)
}

sub ncpu(;$) {
   my ($cpus, $eus);

   if ($^O eq "linux") {
      ($cpus, $eus) = _ncpu_cpuinfo ("/proc/cpuinfo", @_);
   } elsif ($^O eq "freebsd" || $^O eq "netbsd" || $^O eq "openbsd") {
      $cpus = qx<sysctl -n hw.ncpu> * 1 || (defined $_[0] ? $_[0] : 1);
      $eus = $cpus;
   } else {
      $eus = $cpus = defined $_[0] ? $_[0] : 1;
   }

   wantarray ? ($cpus, $eus) : $cpus
}

1
