#!/usr/bin/perl

# examples/remote-pool.pl - one AnyEvent::Fork::Pool whose workers run on
# two "hosts", with a live progress line.
#
# As root, the hosts are two network namespaces, each with its own sshd
# (made, and removed at the end, by the test suite's fixture in
# t/lib/AEFRemote.pm), and the workers are started with ssh. Otherwise
# the hosts are two local commands. The pool's template is an
# AnyEvent::Fork::Remote object made with new: its create callback starts
# each new worker on the next host in turn - the pool itself does not know
# that its workers are remote.
#
# run with: perl Makefile.PL && make && perl examples/remote-pool.pl [JOBS]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../blib/lib", "$FindBin::Bin/../blib/arch", "$FindBin::Bin/../t/lib";

use POSIX ();
use Socket ();

use AnyEvent;
use AnyEvent::Fork::Remote;
use AnyEvent::Fork::Pool;
use AEFRemote ();

my $jobs = shift || 60;

# the command starting a worker perl on each host; the worker learns its
# host's name from the environment
my $lib = AEFRemote::remote_lib (1); # where the hosts find this build
my (@hosts, @sshd);

for my $name ("A", "B") {
   my $perl = "exec env AEF_HOST=$name PERL5LIB=$lib $^X";

   if (my $sshd = AEFRemote::SSHD->new (max_startups => "100:30:200")) {
      push @sshd, $sshd;
      push @hosts, [$name, "$name (ssh to $sshd->{addr}, namespace $sshd->{ns})", $sshd->ssh_cmd ($perl)];
   } else {
      push @hosts, [$name, "$name (local command)", "/bin/sh", "sh", "-c", $perl];
   }
}

print "hosts:\n", map "   $_->[1]\n", @hosts;

# start the next worker on the next host: a socket to both its STDIN and
# STDOUT, the rest is AnyEvent::Fork::Remote's
my $turn = 0;
my $template = AnyEvent::Fork::Remote->new (sub {
   my ($done) = @_;
   my (undef, undef, $path, @argv) = @{ $hosts[$turn++ % @hosts] };

   socketpair my $fh, my $peer, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0
      or die "socketpair: $!";

   my $pid = fork;
   defined $pid or die "fork: $!";
   unless ($pid) {
      open STDIN, "<&", $peer and open STDOUT, ">&", $peer
         and exec { $path } @argv;
      POSIX::_exit (127);
   }

   close $peer;
   $done->($fh);
});

my $pool = $template
   ->eval (q{
        sub work {
           my ($n) = @_;
           select undef, undef, undef, 0.02 + rand 0.08; # some work
           ($ENV{AEF_HOST}, $$, $n * $n)
        }
     })
   ->AnyEvent::Fork::Pool::run ("work",
        max      => 6,
        idle     => 2,
        load     => 2,
        on_error => sub { print "\nworker error: @_\n" },
     );

my (%per_host, %workers);
my $done = 0;
my $cv = AE::cv;
my $t0 = AE::now;

my $progress = sub {
   my ($size, $idle, $queued) = AnyEvent::Fork::Pool::stats ($pool);
   printf "\r%3d/%d done  %s  workers %d (idle %d)  queued %3d  %.1fs ",
      $done, $jobs, (join "  ", map "$_:" . ($per_host{$_} || 0), map $_->[0], @hosts),
      $size, $idle, $queued, AE::now - $t0;
};
my $tick = AE::timer 0, 0.1, $progress;

for my $n (1 .. $jobs) {
   $cv->begin;
   $pool->($n, sub {
      my ($host, $pid, $square) = @_;
      $square == $n * $n or warn "\njob $n: wrong answer $square\n";
      ++$per_host{$host};
      $workers{"$host:$pid"} = 1;
      ++$done;
      $cv->end;
   });
}

$cv->recv;
$progress->();
print "\n", scalar (keys %workers), " worker processes served $jobs jobs\n";

undef $tick;
undef $pool;
$_->teardown for @sshd;
