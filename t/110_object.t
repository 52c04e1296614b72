# The fork object: layout (a blessed array whose element [1] is the
# parent's socket, emptied once run's callback has it), constructors, pid,
# run, to_fh,
# new_from_fh.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use Fcntl qw(F_GETFD F_GETFL FD_CLOEXEC O_NONBLOCK);
use Scalar::Util qw(reftype blessed);
use AnyEvent;
use AnyEvent::Fork;

sub check_layout {
   my ($proc, $what) = @_;
   is (blessed $proc, "AnyEvent::Fork", "$what: blessed into AnyEvent::Fork");
   is (reftype $proc, "ARRAY", "$what: an array reference");
   is (reftype $proc->[0], "ARRAY", "$what: [0] is the queue, an array reference");
   my $fh = $proc->[1];
   ok (defined fileno $fh, "$what: [1] is an open handle");
   ok ((getsockopt $fh, Socket::SOL_SOCKET (), Socket::SO_TYPE ()), "$what: [1] is a socket");
   my $fl = fcntl $fh, F_GETFL, 0;
   ok ($fl & O_NONBLOCK, "$what: [1] is non-blocking");
   my $fd = fcntl $fh, F_GETFD, 0;
   ok ($fd & FD_CLOEXEC, "$what: [1] is close-on-exec");
}
use Socket ();

# new_exec
my $exec = AnyEvent::Fork->new_exec;
check_layout ($exec, "new_exec");
ok (defined $exec->pid, "new_exec: pid is defined");
is ($exec->pid, $exec->[3], "new_exec: pid is element [3]");
is (proc_ppid ($exec->pid), $$, "new_exec: the process is our child");
ok (!$exec->[2], "new_exec: no write watcher while nothing is queued");
is (scalar @{ $exec->[0] }, 0, "new_exec: the queue is empty");

# new
my $new = AnyEvent::Fork->new;
check_layout ($new, "new");
ok (!defined $new->pid, "new: pid is undef");
is (report (AnyEvent::Fork->new, 'getppid'), $AnyEvent::Fork::TEMPLATE->pid, "new: the process is a child of the template");

# fork
my $fork = $exec->fork;
check_layout ($fork, "fork");
ok (!defined $fork->pid, "fork: pid is undef");
ok ($exec->[2], "fork queues on the forked object (write watcher active)");

# queueing: the watcher exists while something is queued, then goes away
$exec->eval ("1");
ok ($exec->[2], "eval starts the write watcher");
ok (scalar @{ $exec->[0] }, "... and queues");
flush_queue ($exec);
ok (!$exec->[2], "the watcher is gone once the queue is written");
is (scalar @{ $exec->[0] }, 0, "... and the queue is empty");
is (scalar @$exec, 4, "... and the object is intact (no callback)");

# chaining: eval, require, send_arg, send_fh return the object; run returns
# an empty list
{
   my $p = AnyEvent::Fork->new;
   is ($p->eval ("1"), $p, "eval returns the object");
   is ($p->require ("strict"), $p, "require returns the object");
   is ($p->send_arg ("x"), $p, "send_arg returns the object");
   is ($p->send_fh (\*STDERR), $p, "send_fh returns the object");
   $p->eval ('sub quit { }');
   my @r = $p->run ("quit");
   is (scalar @r, 0, "run returns an empty list");
   $p = AnyEvent::Fork->new->eval ('sub quit { }');
   my $s = $p->run ("quit");
   ok (!defined $s, "... undef in scalar context");
}

# run with a callback: the callback gets [1], then the object is emptied
{
   my $p = AnyEvent::Fork->new;
   my $fh = $p->[1];
   my ($got, @cbargs);
   $p->eval ('sub runner { my $fh = shift; syswrite $fh, join ",", "ran", @_ }')
     ->send_arg ("a", "b")
     ->run ("runner", sub { @cbargs = @_; $got = 1 });
   ok (!$got, "run does not call the callback before the loop ran");
   is ($p->[4] && "set", "set", "run stores the callback in [4]");
   wait_until (sub { $got });
   is (scalar @cbargs, 1, "the run callback gets one argument");
   is ($cbargs[0], $fh, "... the socket [1]");
   is (scalar @$p, 0, "the object is emptied after the callback");
   is (slurp ($cbargs[0]), "ran,a,b", "the function got the socket and the arguments");
}

# run with a condvar as callback; unqualified names resolve in main,
# qualified ones elsewhere
{
   my $p = AnyEvent::Fork->new;
   $p->eval ('sub main::inmain { syswrite $_[0], "main" } package Other; sub inother { syswrite $_[0], "other" } sub inmain { syswrite $_[0], "wrong" }')
     ->run ("inmain", my $cv = AE::cv);
   is (slurp ($cv->recv), "main", "a condvar works as run callback; an unqualified name means main::NAME");

   $p = AnyEvent::Fork->new;
   $p->eval ('package Other; sub inother { syswrite $_[0], "other" }')
     ->run ("Other::inother", $cv = AE::cv);
   is (slurp ($cv->recv), "other", "a qualified name is used as is");
}

# run without a callback keeps the object; dropping it closes the socket,
# which the run function sees as end-of-file
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_fh ($w)->eval ('sub waiter { my ($fh, $out) = @_; 1 while sysread $fh, my $buf, 100; syswrite $out, "eof seen" }')
     ->run ("waiter");
   undef $w;
   flush_queue ($p);
   ok (@$p >= 4, "run without a callback: the object is not emptied after the flush");
   ok (!$p->[4], "... with no callback");
   ok (defined fileno $p->[1], "... and its socket open");
   undef $p;
   is (slurp ($r), "eof seen", "dropping the object closes the socket; the child sees end-of-file");
}

# to_fh: immediate when nothing is pending
{
   my $p = AnyEvent::Fork->new;
   my $fh = $p->[1];
   my $got;
   $p->to_fh (sub { $got = shift });
   is ($got, $fh, "to_fh with nothing queued calls the callback at once with [1]");
   is (scalar @$p, 0, "... and empties the object");

   # the process still takes commands through new_from_fh
   my $q = AnyEvent::Fork->new_from_fh ($got);
   check_layout ($q, "new_from_fh");
   ok (!defined $q->pid, "new_from_fh: pid is undef");
   is (report ($q, '"still serving"'), "still serving", "new_from_fh: the process still serves commands");
}

# to_fh with a pending command: callback after the flush
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_fh ($w)->eval ('syswrite $arg[0], "first"; close $arg[0]; @arg = ()');
   undef $w;
   my $got;
   $p->to_fh (sub { $got = shift });
   ok (!$got, "to_fh with a pending eval waits");
   wait_until (sub { $got });
   is (scalar @$p, 0, "... then calls the callback and empties the object");
   is (slurp ($r), "first", "... after the eval was written");
   my $q = AnyEvent::Fork->new_from_fh ($got);
   is (report ($q, '"second"'), "second", "... and the process continues with new_from_fh");
}

# destroying an object before run: the child processes what was queued,
# then exits
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_fh ($w)->eval ('syswrite $arg[0], "done"');
   undef $w;
   undef $p; # the write watcher keeps it alive until the queue is written
   my $cv = AE::cv;
   my $io = AE::io $r, 0, $cv;
   $cv->recv;
   is (slurp ($r), "done", "an object dropped with a pending queue still writes it; the child exits afterwards");
}

# a new_exec child exits with status 0 at end-of-file
{
   my $p = AnyEvent::Fork->new_exec;
   my $st = watch_child ($p->pid);
   undef $p;
   is ($st->recv, 0, "the new_exec child exits with status 0 when its object is dropped");
}

done_testing;
