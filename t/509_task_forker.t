# AnyEvent::Task: the forker (the copy of the server that forks the workers)
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(wait_until alive proc_state children_of slurp run_for);
use AnyEvent::Fork::Core ();
use File::Temp ();
use IO::Socket::UNIX ();
use JSON::XS ();
use POSIX ();
use Test::More;

# setup notes each worker that runs it
my $tmp = File::Temp->newdir;
my $setup_log = "$tmp/setup";

# one forker for the whole test (the renewal has a server of its own below)
$AnyEvent::Task::Server::FORKER_AGE = 1000;

my ($path, $keep, $spid) = server (
   name => 'fk',
   setup => sub { open my $fh, ">>", $setup_log or die; print $fh "$$\n"; close $fh },
   hung_worker_timeout => 1,
   interface => {
      pid  => sub { $$ },
      ppid => sub { getppid },
      name => sub { $0 },
      sleep => sub { select undef, undef, undef, $_[0]; $$ },
   },
);

sub cmdline { my $s = slurp_file ("/proc/$_[0]/cmdline"); $s =~ s/\0.*//s; $s }
sub slurp_file { open my $fh, "<", $_[0] or return ""; local $/; <$fh> }
sub ppid_of { (split ' ', (slurp_file ("/proc/$_[0]/stat") =~ /\) (.*)/s)[0])[1] }
sub live_children { grep alive $_, children_of ($_[0]) }
# a spare still has the forker's name: workers take theirs with a connection
sub spares_of { grep cmdline ($_) eq "AET-Forker:fk", live_children ($_[0]) }

# one request on a connection of our own (no client pool in between): the
# reply's value, undef when the connection ends first
sub raw_call {
   my $c = IO::Socket::UNIX->new (Peer => $path) or die "connect: $!";
   syswrite $c, JSON::XS::encode_json (["do", {}, @_]);
   my $buf = "";
   1 while $buf !~ /\]\z/ && sysread $c, $buf, 4096, length $buf;
   length $buf ? JSON::XS::decode_json ($buf)->[2] : undef
}
sub setup_pids { grep /\S/, split /\n/, slurp_file ($setup_log) }

# one fresh worker per checkout
my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], min_workers => 1, max_workers => 1, max_checkouts => 1);
my $forker = call ($client->checkout, 'ppid');
isnt ($forker, $spid, "workers are not the server's children");
is (ppid_of ($forker), $spid, "but its forker's, a child of the server");
is (cmdline ($forker), "AET-Forker:fk", "the forker's name");

# names follow the order of acceptance; finished workers are reaped
{
   my (@names, @pids);
   for (1 .. 4) {
      my $co = $client->checkout;
      push @names, call ($co, 'name');
      push @pids, call ($co, 'pid');
   }
   my @n = map /^AET-Worker:fk\((\d+)\)\z/ ? $1 : -1, @names;
   is_deeply ([map $_ - $n[0], @n], [0, 1, 2, 3], "workers named in the order their connections came (@names)");
   is ((grep $_ == $forker, map call ($client->checkout, 'ppid'), 1 .. 2), 2, "all from the same forker");
   wait_until { !grep kill (0, $_), @pids[0 .. 2] };
   pass ("exited workers leave no zombie behind");
}

# forked ahead of demand: a spare waits for the next connection, without
# having run any code of the server's user; the hung-worker alarm starts
# with its connection, not with its fork
{
   my @s;
   wait_until { @s = spares_of ($forker); @s == 1 };
   my $spare = $s[0];
   pass ("between connections the forker keeps one spare worker");
   ok (!grep ($_ == $spare, setup_pids), "which has not run setup");
   run_for 1.5;
   ok (alive $spare, "nor been killed as a hung worker, idle for longer than the timeout");
   is (raw_call ('pid'), $spare, "the next connection gets it");
   is ((grep $_ == $spare, setup_pids), 1, "it ran setup then, once");
   wait_until { @s = spares_of ($forker); @s == 1 };
   isnt ($s[0], $spare, "and a new spare waits");
   $spare = $s[0];
   is (raw_call ('sleep', 5), undef, "the hung-worker alarm still kills a worker busy for too long");
   wait_until { !alive $spare };
   pass ("it was that worker");
}

# the forker killed: the server reaps it and forks a new one for the next
# connection; its spare goes with it
{
   my @spares = spares_of ($forker);
   is (scalar @spares, 1, "a spare waits");
   kill KILL => $forker;
   wait_until { !kill 0, $forker };
   pass ("the server reaped the killed forker");
   wait_until { !grep alive $_, @spares };
   pass ("its spare went with it");
   my $f2 = call ($client->checkout, 'ppid');
   isnt ($f2, $forker, "a new forker");
   is (ppid_of ($f2), $spid, "also the server's child");
   $forker = $f2;
}

# the server gone: the forker goes, and its spare
{
   my @spares;
   wait_until { @spares = spares_of ($forker); @spares == 1 };
   close $keep;
   wait_until { !alive $forker };
   pass ("the forker leaves with the server");
   wait_until { !grep alive $_, @spares };
   pass ("and so does its spare");
}

# a copy of the server is renewed: what the server changes reaches new workers
{
   my $p = sock_path ();
   my $spid = exec_server (['unix/', $p], q{
      $AnyEvent::Task::Server::FORKER_AGE = 0;
      our $gen = 0;
      our $sig = AE::signal ("USR1", sub { $gen++ });
   }, interface => q{ gen => sub { $main::gen }, ppid => sub { getppid }, });
   my $c = AnyEvent::Task::Client->new (connect => ['unix/', $p], max_workers => 1, max_checkouts => 1);
   is (call ($c->checkout, 'gen'), 0, "a worker sees the server's memory");
   kill USR1 => $spid;
   my $gen = 0;
   $gen = call ($c->checkout, 'gen') until $gen;
   is ($gen, 1, "a worker forked later sees what the server changed since");
   my @forkers = map call ($c->checkout, 'ppid'), 1 .. 3;
   my %seen;
   is (scalar (grep $_ != $spid && !$seen{$_}++, @forkers), 3, "each from a forker of its own (the age is 0 here)");
   wait_until { !grep { (proc_state ($_) || '') eq 'Z' } children_of ($spid) };
   pass ("retired forkers are reaped");
   my @old = grep $_ != $forkers[-1], @forkers;
   undef $c;
   wait_until { !grep live_children ($_), @old };
   pass ("and leave no spare behind");
   kill KILL => $spid;
   waitpid $spid, 0;
   wait_until { !grep alive $_, @forkers };
   pass ("and leave when the server is killed");
}

# the glue's error paths
{
   my ($a, $b) = AnyEvent::Fork::Core::socketpair or die "socketpair: $!";
   open my $mine, "+<&=", $a or die;
   open my $theirs, "+<&=", $b or die;
   close $theirs;
   ok (!AnyEvent::Task::Server::Worker::_hand_send ($mine, \*STDIN, 1), "handing over to a forker that is gone fails");
   ok ($!{EPIPE}, "with EPIPE ($!)");
   eval { AnyEvent::Task::Server::Worker::_hand_send ("x", \*STDIN, 1) };
   like ($@, qr/^AnyEvent::Task::Server::Worker::_hand_send: not a file handle or descriptor at /, "not a handle");
   my @r = AnyEvent::Task::Server::Worker::_forker_next ($mine);
   is (scalar @r, 0, "the forker's loop at end-of-file: an empty list");
   ok ($!{ECONNRESET}, "with ECONNRESET ($!)");
   my $pid = fork;
   POSIX::_exit (7) unless $pid;
   is (waitpid ($pid, 0), $pid, "our children are ours to reap again");
   is ($? >> 8, 7, "with their status");
   eval { AnyEvent::Task::Server::Worker::_forker_next ("x") };
   like ($@, qr/^AnyEvent::Task::Server::Worker::_forker_next: not a file handle or descriptor at /, "not a handle");
}

done_testing;
