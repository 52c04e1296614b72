#!/usr/bin/perl

# bench/remote.pl - AnyEvent::Fork::Remote: processes started per second
# and RPC round trips per second over three transports (a local perl,
# ssh's pipe semantics without ssh, a real ssh to an sshd in a network
# namespace made for the run - root only), beside AnyEvent::Fork's local
# figures of the same run, the machine's limits (starting a perl, socket
# ping-pong; bench/limits/) and the original Remote 1.0's figures (it
# cannot be had here: they are quoted, measured on this class of machine).
#
# run with: perl Makefile.PL && make && perl bench/remote.pl [--quick]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../blib/lib", "$FindBin::Bin/../blib/arch", "$FindBin::Bin/../t/lib";
use Bench;
use Getopt::Long ();

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;
use AnyEvent::Fork::Remote;
use AEFRemote (); # the transports and the sshd fixture of the tests

my %opt = (starts => 40, ssh_starts => 6, time => 1);
Getopt::Long::GetOptions (
   "quick"        => sub { @opt{qw(starts ssh_starts time)} = (15, 3, 0.5) },
   "starts=i"     => \$opt{starts},
   "ssh-starts=i" => \$opt{ssh_starts},
   "time=f"       => \$opt{time},
) or die "usage: $0 [--quick] [--starts N] [--ssh-starts N] [--time S]\n";

AEFRemote::remote_env (); # the "remote" perls find this build

my $ECHO = 'sub echo { @_ }';

# $n sequential starts: run -> handle (the handshake), then end-of-file
# (the child exits); returns (processes/s, median ms from run to handle)
sub starts {
   my ($new, $n) = @_;
   my @lat;
   my $t0 = Bench::now;

   for (1 .. $n) {
      my $cv = AE::cv;
      my $t = Bench::now;
      $new->()->run ("CORE::exit", sub { push @lat, Bench::now - $t; $cv->send ($_[0]) });
      my $fh = $cv->recv or die "remote.pl: a start failed\n";
      my $eof = AE::cv;
      my $w = AE::io $fh, 0, sub { $eof->send unless sysread $fh, my $buf, 4096 };
      $eof->recv;
   }

   my $rate = $n / (Bench::now - $t0);
   @lat = sort { $a <=> $b } @lat;
   ($rate, 1000 * $lat[@lat / 2])
}

# sequential RPC round trips over one connected worker, for $secs
sub roundtrips {
   my ($proc, $secs) = @_;
   my $rpc = $proc->eval ($ECHO)->AnyEvent::Fork::RPC::run ("echo",
      on_error => sub { die "remote.pl: worker failed: @_\n" });

   my $cv = AE::cv;
   $rpc->(1, $cv);
   $cv->recv; # connected and warm

   my ($n, $t0) = (0, Bench::now);
   $cv = AE::cv;
   my $next; $next = sub {
      return $cv->send if Bench::now - $t0 >= $secs;
      ++$n;
      $rpc->("x" x 8, $next);
   };
   $next->();
   $cv->recv;
   undef $next;

   $n / (Bench::now - $t0)
}

my @rows;
sub row { push @rows, [@_]; printf "%-44s %12s %12s\n", @_ }

printf "%-44s %12s %12s\n", "", "starts/s", "ms/start";

# the limits
{
   my %sl = Bench::run_cmd ([Bench::limit ("spawn_limit"), $opt{starts}, 1, $^X, "-e", "0"]);
   row ("limit: vfork+exec of perl -e 0, 1 at a time", sprintf ("%.0f", $sl{spawns_per_s}), sprintf ("%.2f", 1000 / $sl{spawns_per_s}));
}

row ("AnyEvent::Fork->new_exec (local)", map sprintf ("%.2f", $_),
     starts (sub { AnyEvent::Fork->new_exec }, $opt{starts}));
row ("Remote, local perl", map sprintf ("%.2f", $_),
     starts (sub { AnyEvent::Fork::Remote->new_exec ($^X, "perl") }, $opt{starts}));
row ("Remote, pipes (cat | perl | cat)", map sprintf ("%.2f", $_),
     starts (sub { AnyEvent::Fork::Remote->new_exec (AEFRemote::pipe_cmd ()) }, $opt{starts}));

my $sshd = AEFRemote::SSHD->new;
if ($sshd) {
   my @ssh = $sshd->ssh_cmd ("exec $^X -e 0");
   splice @ssh, 1, 1; # spawn_limit takes the path, then argv from argv[1]
   my %sl = Bench::run_cmd ([Bench::limit ("spawn_limit"), $opt{ssh_starts}, 1, @ssh]);
   row ("limit: ssh to the namespace, perl -e 0", sprintf ("%.2f", $sl{spawns_per_s}), sprintf ("%.0f", 1000 / $sl{spawns_per_s}));
   row ("Remote, ssh to the namespace", map sprintf ("%.2f", $_),
        starts (sub { $sshd->remote }, $opt{ssh_starts}));
} else {
   print "(no ssh transport: $AEFRemote::SSHD::WHY)\n";
}

row ("original 1.0, local perl (quoted)", "~460", "1.5");
row ("original 1.0, ssh to a namespace (quoted)", "", "240-300");
row ("original 1.0, ssh with ControlMaster (quoted)", "", "118");

printf "\n%-44s %12s\n", "", "round trips/s";
{
   my %pp = Bench::run_cmd ([Bench::limit ("pingpong"), 100_000]);
   printf "%-44s %12.0f\n", "limit: socket ping-pong (C)", $pp{rate};
}
printf "%-44s %12.0f\n", "AnyEvent::Fork RPC (local)", roundtrips (AnyEvent::Fork->new, $opt{time});
printf "%-44s %12.0f\n", "Remote RPC, local perl", roundtrips (AnyEvent::Fork::Remote->new_exec ($^X, "perl"), $opt{time});
printf "%-44s %12.0f\n", "Remote RPC, pipes", roundtrips (AnyEvent::Fork::Remote->new_exec (AEFRemote::pipe_cmd ()), $opt{time});
{
   local $ENV{PERL5LIB} = AEFRemote::remote_lib (0);
   printf "%-44s %12.0f\n", "Remote RPC, local perl, pure-Perl worker", roundtrips (AnyEvent::Fork::Remote->new_exec ($^X, "perl"), $opt{time});
}
printf "%-44s %12.0f\n", "Remote RPC, ssh", roundtrips ($sshd->remote, $opt{time})
   if $sshd;

$sshd->teardown if $sshd;
