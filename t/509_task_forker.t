# AnyEvent::Task: the forker (the copy of the server that forks the workers)
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AEFHelp qw(wait_until alive proc_state children_of slurp);
use AnyEvent::Fork::Core ();
use POSIX ();
use Test::More;

my ($path, $keep, $spid) = server (
   name => 'fk',
   interface => {
      pid  => sub { $$ },
      ppid => sub { getppid },
      name => sub { $0 },
   },
);

sub cmdline { my $s = slurp_file ("/proc/$_[0]/cmdline"); $s =~ s/\0.*//s; $s }
sub slurp_file { open my $fh, "<", $_[0] or return ""; local $/; <$fh> }
sub ppid_of { (split ' ', (slurp_file ("/proc/$_[0]/stat") =~ /\) (.*)/s)[0])[1] }

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

# the forker killed: the server reaps it and forks a new one for the next connection
{
   kill KILL => $forker;
   wait_until { !kill 0, $forker };
   pass ("the server reaped the killed forker");
   my $f2 = call ($client->checkout, 'ppid');
   isnt ($f2, $forker, "a new forker");
   is (ppid_of ($f2), $spid, "also the server's child");
   $forker = $f2;
}

# the server gone: the forker goes
{
   close $keep;
   wait_until { !alive $forker };
   pass ("the forker leaves with the server");
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
