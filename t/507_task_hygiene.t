# AnyEvent::Task: descriptors, reaping, fork failures, bad options in the
# forked server, TCP restarts
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(with_stderr_pipe wait_until run_for alive proc_fds proc_state children_of slurp run_cmd perl_cmd set_blocking);
use POSIX ();
use Test::More;

# H2: a pipe the caller opened before forking the server is not held by it
pipe my $r, my $w or die "pipe: $!";
my ($errfh, $path, $keep, $spid) = with_stderr_pipe (sub {
   server (interface => { pid => sub { $$ }, fds => sub { my @f = AEFHelp::proc_fds ($$); scalar @f } });
});
close $w;
set_blocking ($r, 0);
is (sysread ($r, my $buf, 1), 0, "the caller's pipe sees end-of-file: the server and its workers hold no copy");

# H3 and Q9: the server keeps no connection and reaps its workers
{
   my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1, max_checkouts => 1);
   call ($client->checkout, 'pid');
   my @before = proc_fds ($spid);
   my @pids;
   push @pids, call ($client->checkout, 'pid') for 1 .. 8;
   wait_until { !grep alive $_ && proc_state ($_) ne 'Z', @pids[0 .. 6] };
   wait_until { !grep { (proc_state ($_) || '') eq 'Z' } children_of ($spid) };
   pass ("exited workers are reaped");
   my @after = proc_fds ($spid);
   cmp_ok (scalar @after, '<=', scalar @before, "the server's descriptor count does not grow with workers forked");
}

# H6: no noise at the server's exit
{
   close $keep;
   wait_until { !alive $spid || proc_state ($spid) eq 'Z' };
   my $err = slurp ($errfh);
   unlike ($err, qr/unable to close filehandle/, "no 'unable to close filehandle' at exit");
   ok (!-e $path, "the server removed its socket path at exit");
}

# Q10: a bad option in the forked server
{
   my $p = sock_path ();
   my ($st, $out, $err) = run_cmd ({}, perl_cmd ("-e", q{
      use AnyEvent::Task::Server;
      my ($fh, $pid) = AnyEvent::Task::Server::fork_task_server (listen => ['unix/', $ARGV[0]]);
      waitpid $pid, 0;
      print "after fork_task_server in $$: child status ", $? >> 8, "\n";
   }, $p));
   my @lines = split /\n/, $out;
   is (scalar @lines, 1, "the caller's code after the call ran once");
   like ($lines[0], qr/child status [1-9]/, "the child exited non-zero");
   like ($err, qr/^unspecified interface at /, "and printed the constructor's error");
   ($st, $out, $err) = run_cmd ({}, perl_cmd ("-e", q{
      use AnyEvent::Task::Server;
      my $cv = AE::cv;
      eval { AnyEvent::Task::Server::fork_task_server (listen => ['unix/', $ARGV[0]], interface => sub {}) };
      print $@;
   }, $p));
   like ($out, qr/^No AnyEvent watchers should be created prior to forking \(AE model: AnyEvent::Impl::\w+\) at /,
         "fork_task_server after the loop started");
}

# Q8: a failed fork in the server
{
   my $p = sock_path ();
   my $errfile = "$p.err";
   my $spid = exec_server (['unix/', $p], q{
      my $n = 0;
      my $orig = \&AnyEvent::Task::Server::Worker::_fork;
      no warnings 'redefine';
      *AnyEvent::Task::Server::Worker::_fork = sub {
         if (!$n++) { $! = Errno::EAGAIN (); return undef }
         goto &$orig;
      };
   }, stderr => $errfile);
   my $client = AnyEvent::Task::Client->new (connect => ['unix/', $p], max_workers => 1);
   like (call ($client->checkout (timeout => 20), 'pid'), qr/^\d+\z/, "the server keeps serving after a failed fork");
   open my $fh, "<", $errfile or die;
   like (join ("", <$fh>), qr/^fork failed: Resource temporarily unavailable$/m, "and said why");
   kill KILL => $spid;
   waitpid $spid, 0;
}

# Q2/H4: TCP; a server that exits while its worker serves a held checkout
{
   my $port = free_port ();
   my $listen = ['127.0.0.1', $port];
   my $spid = exec_server ($listen, "");
   my $client = AnyEvent::Task::Client->new (connect => $listen);
   my $co = $client->checkout (timeout => 20);
   my $wpid = call ($co, 'pid');
   kill TERM => $spid;
   waitpid $spid, 0;
   my $spid2 = exec_server ($listen, "");
   pass ("a new server binds the port at once");
   my $c2 = AnyEvent::Task::Client->new (connect => $listen);
   my $p2 = call ($c2->checkout (timeout => 20), 'pid');
   isnt ($p2, $wpid, "new checkouts are served by the new server");
   is (call ($co, 'pid'), $wpid, "the held checkout still works");
   kill KILL => $spid2;
   waitpid $spid2, 0;
}

done_testing;
