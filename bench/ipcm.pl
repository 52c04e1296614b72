#!/usr/bin/perl

# bench/ipcm.pl - IPC::Manager services on each bus protocol: start-up of
# ipcm_service, sync_request round trips per second, 2000 requests sent at
# once then awaited, and the time to drop the handle (shutdown), beside the
# C socket ping-pong measured in the same run (bench/limits/pingpong.c) and
# beside the original IPC::Manager 0.000038's figures (it cannot be
# installed on Debian 12; the figures were measured on this class of
# machine, at load ~2, with the same echo service).
#
# run with: perl Makefile.PL && make && perl bench/ipcm.pl [--quick]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../blib/lib", "$FindBin::Bin/../blib/arch";
use Bench;
use Getopt::Long ();
use Time::HiRes ();
use File::Temp ();
use IPC::Manager qw(ipcm_service ipcm_default_protocol);

# starts: start-ups timed besides those of the rounds (a start-up is short:
# the median of many says more on a busy machine, its quartiles how much
# the machine's load moved it, and the best of them what the machine can do)
my %opt = (rounds => 5, rt => 3000, pipe => 2000, starts => 40);
Getopt::Long::GetOptions ("quick" => sub { %opt = (rounds => 3, rt => 1000, pipe => 2000, starts => 20) })
   or die "usage: $0 [--quick]\n";

# the original's figures: start-up ms, round trips/s, pipelined req/s, shutdown ms
my %ORIG = (
   UnixSocket     => ["11", "2,900-3,200", "6,000-8,000",   "1,000"],
   ConnectionUnix => ["13", "2,100-2,800", "14,000-22,000", "1,000"],
   MessageFiles   => ["12", "1,600-1,700", "3,500-5,300",   "66"],
);

# the caller's share of a start-up, steadier than the wall time on a busy
# machine: its CPU time and its page faults (after a fork each first write
# to a page is a copy-on-write fault, tens of microseconds on a virtual
# machine: see the C floor's figure per fault). Reading the counter costs
# a few faults itself, counted with the rest.
my $CPU = eval { Time::HiRes::clock_gettime (Time::HiRes::CLOCK_PROCESS_CPUTIME_ID ()); 1 };
sub cpu { $CPU ? Time::HiRes::clock_gettime (Time::HiRes::CLOCK_PROCESS_CPUTIME_ID ()) : 0 }
sub minflt { my $s = Bench::pstat ($$); $s ? $s->{minflt} : undef }

sub service { ipcm_service (echo => (handle_request => sub { $_[1]{request} })) }

sub measure {
   my ($proto) = @_;
   ipcm_default_protocol ($proto);
   my (@start, @stop, @rt, @pipe);
   for (1 .. $opt{rounds}) {
      my $h;
      push @start, Bench::timeit (sub { $h = service () });
      $h->sync_request (echo => "warm", 10) for 1 .. 10;
      my $n = $opt{rt};
      push @rt, $n / Bench::timeit (sub { $h->sync_request (echo => "ping", 10) for 1 .. $n });
      my $p = $opt{pipe};
      push @pipe, $p / Bench::timeit (sub {
         $h->send_request (echo => "ping$_") for 1 .. $p;
         $h->await_all_responses (60);
         delete $h->{_RESPONSES};
      });
      push @stop, Bench::timeit (sub { undef $h });
   }
   my (@cpu, @flt);
   for (1 .. $opt{starts}) {
      my $h;
      my ($c0, $f0) = (cpu (), minflt ());
      push @start, Bench::timeit (sub { $h = service () });
      my ($c1, $f1) = (cpu (), minflt ());
      push @cpu, $c1 - $c0;
      push @flt, $f1 - $f0 if defined $f0 && defined $f1;
   }
   my @sorted = sort { $a <=> $b } @start;
   return (Bench::median (@start) * 1000, Bench::median (@rt), Bench::median (@pipe), Bench::median (@stop) * 1000, $sorted[0] * 1000, scalar @start,
           Bench::median (@cpu) * 1000, @flt ? Bench::median (@flt) : undef,
           $sorted[$#sorted / 4] * 1000, $sorted[$#sorted * 3 / 4] * 1000);
}

my $pp = Bench::limit ("pingpong");
my ($rate) = `$pp 100000` =~ /rate=([\d.]+)/;

# the start-up floor: a C parent as large as this one forks, the child
# writes its pidfile by rename, the parent sees it through inotify; then
# the same with the copy-on-write faults of a Perl start-up: the child
# first writing to the pages the echo service's child writes to before it
# registers, the parent to the pages ipcm_service writes to after the
# fork until it waits (counted with perf's page-fault tracepoint, the
# child's text pages included: 28 and 16 here)
my ($COW, $PCOW) = (28, 16);
my $kb = (`grep RssAnon /proc/$$/status 2>/dev/null` =~ /(\d+)/)[0] || 8192;
my $ready = Bench::limit ("svc_ready");
my %bare = `$ready 30 $kb 0` =~ /^(\w+)=([\d.]+)$/mg;
my %cow  = `$ready 30 $kb $COW $PCOW` =~ /^(\w+)=([\d.]+)$/mg;

# MessageFiles' limit: the same round trip as message files in the temp
# folder (where the buses live), with inotify wake-ups (Linux); and the
# same with the files moved as the bus moves its spares (one rename per
# message each side, nothing created or removed)
my ($frate, $srate);
if ($^O eq 'linux') {
   my $fp = Bench::limit ("filepingpong");
   my $dir = File::Temp::tempdir ("aef-fpp-XXXXXX", TMPDIR => 1, CLEANUP => 1);
   ($frate) = `$fp $dir 2000` =~ /rate=([\d.]+)/;
   ($srate) = `$fp $dir 2000 spare` =~ /rate=([\d.]+)/;
}

printf "load %s", `cat /proc/loadavg 2>/dev/null` || "?\n";
printf "C socket ping-pong (bench/limits/pingpong.c): %d round trips/s\n", $rate;
printf "C message-file ping-pong in the temp folder (bench/limits/filepingpong.c): %d round trips/s\n", $frate
   if $frate;
printf "  the same with spare files, as the bus moves them (filepingpong.c spare): %d round trips/s\n", $srate
   if $srate;
printf "C start-up floor (bench/limits/svc_ready.c, %d KB parent): fork + pidfile seen %.1f ms;"
     . " with %d + %d copy-on-write faults (child, parent) %.1f ms (%.0f us per fault)\n\n",
   $kb, $bare{ready_ms}, $COW, $PCOW, $cow{ready_ms}, $cow{cow_us};
printf "%-15s %10s %14s %20s %12s\n", "protocol", "start-up", "round trips/s", "2000 pipelined req/s", "shutdown";
for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   my @m = measure ($proto);
   printf "%-15s %7.1f ms %14d %20d %9.1f ms   (%.0f%% of ping-pong%s; start-up best of %d: %.1f ms, quartiles %.1f-%.1f ms)\n",
      $proto, @m[0 .. 3], 100 * $m[1] / $rate,
      $proto eq 'MessageFiles' && $frate ? sprintf (", %.0f%% of file ping-pong, %.0f%% with spares", 100 * $m[1] / $frate, 100 * $m[1] / ($srate || $frate)) : "",
      $m[5], $m[4], $m[8], $m[9];
   printf "%-15s %7s ms %14s %20s %9s ms\n", "  original", @{ $ORIG{$proto} };
   printf "%-15s %s\n", "", join "; ", "caller per start-up (median):" . ($CPU ? sprintf (" %.1f ms CPU", $m[6]) : ""),
      defined $m[7] ? "$m[7] page faults" : ()
      if $CPU || defined $m[7];
}
