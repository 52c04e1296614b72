=head1 NAME

Bench - shared helpers of the benchmarks in bench/

=head1 SYNOPSIS

   use FindBin;
   use lib "$FindBin::Bin/lib";
   use Bench;

   my $exe  = Bench::limit ("fork_limit");          # built from bench/limits/fork_limit.c
   my %r    = Bench::run_cmd ([$exe, 2000]);        # key=value lines of its output
   my $secs = Bench::timeit (sub { ... });
   my $mem  = Bench::mem ($pid);                    # { rss => kB, uss => kB, pss => kB }
   my %our  = Bench::run_sub (ours => "$0", "--worker", "new");
   my %orig = Bench::run_sub (orig => "$0", "--worker", "new")
      if Bench::orig_lib;

=head1 DESCRIPTION

Benchmarks measure this distribution beside the physical limit of the
machine (small C programs in F<bench/limits/>, compiled on the fly) and
beside the original AnyEvent::Fork 1.32 where it can be had. Each
implementation runs in a subprocess of its own, so the two never share a
process; subprocesses report their figures as plain C<key=value> lines on
standard output, which C<run_sub> parses.

Nothing here is timing-critical: these are benchmarks, not tests.

=head1 FUNCTIONS

=over

=cut

package Bench;

use strict;
use warnings;

use Cwd ();
use File::Basename ();
use File::Spec ();
use File::Temp ();
use Time::HiRes ();

# bench/ and the distribution's top folder
our $BENCH = Cwd::abs_path (File::Basename::dirname (__FILE__) . "/..");
our $TOP   = Cwd::abs_path ("$BENCH/..");

my $TMP; # temp folder for compiled limit programs, removed at exit

=item $path = Bench::limit ($name)

Compiles F<bench/limits/$name.c> with C<cc -O2> into a temporary folder
(once per process) and returns the executable's path. Dies with the
compiler's output when that fails.

=cut

my %built;

sub limit {
   my ($name) = @_;

   return $built{$name} if $built{$name};

   $TMP ||= File::Temp::tempdir ("aef-bench-XXXXXX", TMPDIR => 1, CLEANUP => 1);

   my $src = "$BENCH/limits/$name.c";
   my $exe = "$TMP/$name";
   my $cc  = $ENV{CC} || "cc";
   my $out = qx{$cc -O2 -o \Q$exe\E \Q$src\E 2>&1};

   die "Bench: cannot compile $src:\n$out" if $? || !-x $exe;

   $built{$name} = $exe
}

=item $seconds = Bench::timeit ($code)

=item $t = Bench::now

Wall-clock seconds (monotonic clock) that C<< $code->() >> takes; the
monotonic clock itself.

=cut

sub now () {
   Time::HiRes::clock_gettime (Time::HiRes::CLOCK_MONOTONIC ())
}

sub timeit {
   my ($code) = @_;

   my $t0 = now;
   $code->();
   now - $t0
}

=item $m = Bench::median (@numbers)

The median of the numbers (the lower one of the two middle ones for an
even count); undef for none.

=cut

sub median {
   my @s = sort { $a <=> $b } @_;
   @s ? $s[$#s / 2] : undef
}

=item $mem = Bench::mem ($pid)

Memory of a process in kB from F</proc/$pid/smaps_rollup> (Linux): a hash
with C<rss> (Rss), C<pss> (Pss) and C<uss> (unique set size: Private_Clean
+ Private_Dirty, what the process alone costs). Undef when unreadable.

=cut

sub mem {
   my ($pid) = @_;

   open my $fh, "<", "/proc/$pid/smaps_rollup"
      or return;

   my %f;
   /^(\w+):\s+(\d+) kB/ and $f{$1} = $2 while <$fh>;

   return unless exists $f{Rss};

   {
      rss => $f{Rss},
      pss => $f{Pss},
      uss => ($f{Private_Clean} || 0) + ($f{Private_Dirty} || 0),
   }
}

=item $stat = Bench::pstat ($pid)

Resource counters of a process from F</proc/$pid/stat>: C<minflt>,
C<cminflt> (of its reaped children), C<majflt>, C<cmajflt>, C<cpu> and
C<ccpu> (user + system seconds, own and of reaped children), C<state>,
C<ppid>. Undef when the process is gone.

=cut

my $HZ;

sub pstat {
   my ($pid) = @_;

   open my $fh, "<", "/proc/$pid/stat"
      or return;
   my $line = <$fh>;
   defined $line && $line =~ s/^.*\) //s
      or return;

   # fields after "pid (comm) ": state ppid pgrp session tty tpgid flags
   # minflt cminflt majflt cmajflt utime stime cutime cstime ...
   my @f = split ' ', $line;

   $HZ ||= do { require POSIX; POSIX::sysconf (POSIX::_SC_CLK_TCK ()) || 100 };

   {
      state   => $f[0],
      ppid    => $f[1],
      minflt  => $f[7],
      cminflt => $f[8],
      majflt  => $f[9],
      cmajflt => $f[10],
      cpu     => ($f[11] + $f[12]) / $HZ,
      ccpu    => ($f[13] + $f[14]) / $HZ,
   }
}

=item @pids = Bench::children ($pid)

The pids whose parent is C<$pid> (a scan of F</proc>).

=cut

sub children {
   my ($pid) = @_;

   opendir my $dh, "/proc"
      or return;

   grep { my $s = pstat ($_); $s && $s->{ppid} == $pid } grep /^\d+\z/, readdir $dh
}

=item $ok = Bench::wait_idle ($pid[, $timeout])

Waits until the process sleeps and has used no CPU for three polls in a
row, 20 ms apart (so it has finished starting up and blocks reading its
socket). False if it is gone or the timeout (default 10 s) passes.

=cut

sub wait_idle {
   my ($pid, $timeout) = @_;

   my $end = now + ($timeout || 10);
   my ($calm, $last) = (0, -1);

   while (now < $end) {
      my $s = pstat ($pid)
         or return;
      my $cpu = $s->{cpu};

      $calm = $s->{state} eq "S" && $cpu == $last ? $calm + 1 : 0;
      return 1 if $calm >= 3;

      $last = $cpu;
      Time::HiRes::sleep (0.02);
   }

   0
}

=item $path = Bench::orig_root

The root of the unpacked original distribution: C<$ENV{AEF_ORIG}>, or
F</tmp/orig/root>.

=item $perl5lib = Bench::orig_lib

The C<PERL5LIB> that selects the original AnyEvent::Fork (with IO::FDPass
and Proc::FastSpawn), or undef when it is not there.

=cut

sub orig_root {
   $ENV{AEF_ORIG} // "/tmp/orig/root"
}

sub orig_lib {
   my $root = orig_root;

   my @lib = grep -d, "$root/usr/share/perl5", glob "$root/usr/lib/*/perl5/*";

   return unless grep -f "$_/AnyEvent/Fork.pm", @lib;
   return unless grep -f "$_/IO/FDPass.pm", @lib;

   join ":", @lib
}

=item @cmd = Bench::perl_cmd ($which, $script, @args)

The command that runs C<$script> with perl (C<$^X>) and the given
implementation: C<ours> (this distribution's F<blib>, built by C<make>) or
C<orig> (C<orig_lib>). Also returns, as the first element, the
C<PERL5LIB> value to run it with (undef: none).

=cut

sub perl_cmd {
   my ($which, $script, @args) = @_;

   if ($which eq "ours") {
      -f "$TOP/blib/arch/auto/AnyEvent/Fork/Core/Core.so"
         or die "Bench: $TOP/blib is not built; run: perl Makefile.PL && make\n";
      return (undef, $^X, "-I$TOP/blib/arch", "-I$TOP/blib/lib", $script, @args);
   }

   if ($which eq "orig") {
      my $lib = orig_lib
         or die "Bench: the original AnyEvent::Fork is not in " . orig_root . "\n";
      return ($lib, $^X, $script, @args);
   }

   die "Bench: unknown implementation '$which'\n";
}

=item %kv = Bench::run_sub ($which, $script, @args)

Runs C<$script> in a subprocess with the implementation C<$which> (see
C<perl_cmd>) and returns the C<key=value> lines it printed (other lines
are passed through to STDOUT with a C<#> prefix). Dies when the script
fails.

=item %kv = Bench::run_cmd (\@cmd[, $perl5lib])

The same for any command.

=cut

sub run_cmd {
   my ($cmd, $lib) = @_;

   local $ENV{PERL5LIB} = $lib;
   delete $ENV{PERL5LIB} unless defined $lib;
   delete local $ENV{PERL5OPT};

   open my $fh, "-|", @$cmd
      or die "Bench: cannot run @$cmd: $!\n";

   my %kv;
   while (<$fh>) {
      chomp;
      if (/^(\w+)=(.*)\z/) {
         $kv{$1} = $2;
      } else {
         print "# $_\n";
      }
   }

   close $fh
      or die "Bench: @$cmd failed (status $?)\n";

   %kv
}

sub run_sub {
   my ($lib, @cmd) = perl_cmd (@_);

   run_cmd (\@cmd, $lib)
}

=item Bench::kv (%pairs)

Prints C<key=value> lines (what a sub-benchmark reports).

=cut

sub kv {
   my (%kv) = @_;

   print "$_=$kv{$_}\n" for sort keys %kv;
}

=back

=cut

1
