#!/usr/bin/perl

# bench/fork.pl - process creation speed and template memory of
# AnyEvent::Fork: this distribution (blib) beside the original 1.32 and
# beside the machine's limits, measured in the same run.
#
#    perl Makefile.PL && make && perl bench/fork.pl [options]
#
#    --time S      seconds per measurement (one implementation, one figure,
#                  one round); default 2
#    --rounds R    rounds; the best round of each figure is reported, the
#                  implementations alternate in order; default 3
#    --inflight K  processes in flight at a time; default 2
#    --quick       --time 1 --rounds 2 --pairs 10 (unless given)
#    --pairs P     new_exec A/B: P pairs of runs, ours and the original's
#                  alternating; default 20
#
# See bench/README.md for what each figure means. The original is taken
# from $AEF_ORIG (default /tmp/orig/root); without it, only our figures
# are printed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Bench;
use Getopt::Long ();
use AnyEvent (); # the same for both implementations

# modules preloaded into the template of the "template->fork" figure
my @MODULES = qw(POSIX Storable Data::Dumper Scalar::Util List::Util);

if (@ARGV && $ARGV[0] eq "--worker") {
   shift;
   worker (@ARGV);
   exit 0;
}

my %opt = (inflight => 2);
Getopt::Long::GetOptions (\%opt, "time=f", "rounds=i", "inflight=i", "pairs=i", "quick")
   or die "usage: $0 [--time S] [--rounds R] [--inflight K] [--pairs P] [--quick]\n";
{
   # the defaults (--quick's, or the normal ones) for what is not given
   my %def = $opt{quick} ? (time => 1, rounds => 2, pairs => 10) : (time => 2, rounds => 3, pairs => 20);
   defined $opt{$_} or $opt{$_} = $def{$_} for keys %def;
}

main ();
exit 0;

#############################################################################
# sub-benchmarks: each runs in a subprocess of its own with one
# implementation loaded and prints key=value lines

sub worker {
   my ($mode, $secs, $k) = @_;

   require AnyEvent::Fork;

   return worker_mem () if $mode eq "mem";
   return worker_execab ($secs) if $mode eq "execab";
   return worker_floor ($secs, $k) if $mode eq "floor";

   # "newslow": "new" with the exit hook of forked children turned off
   # (the template, and so each child, inherits the variable)
   $ENV{PERL_ANYEVENT_FORK_FAST_EXIT} = 0 if $mode eq "newslow";

   # $make->() returns a new fork object and the pid to reap (or undef)
   my ($make, $tpid);

   if ($mode eq "new" || $mode eq "newslow") {
      $make = sub { (AnyEvent::Fork->new) };
      procs ($make, 5, 1); # creates $TEMPLATE, warms it up
      $tpid = do { no warnings "once"; $AnyEvent::Fork::TEMPLATE->pid };
   } elsif ($mode eq "tfork") {
      my $t = AnyEvent::Fork->new_exec->require (@MODULES);
      $make = sub { ($t->fork) };
      procs ($make, 5, 1);
      $tpid = $t->pid;
   } elsif ($mode eq "exec") {
      $make = sub { my $p = AnyEvent::Fork->new_exec; ($p, $p->pid) };
      procs ($make, 2, 1);
   } else {
      die "fork.pl: unknown worker mode '$mode'\n";
   }

   # counters: with a template, of the template (its own, and of its
   # reaped children: the measured processes); else ours
   my $who = $tpid || $$;
   my $s0 = Bench::pstat ($who);
   my @t0 = times;
   my $t0 = Bench::now;

   my $n = procs ($make, 1e9, $k, $t0 + $secs);
   # perl closes the socket during its global destruction, before the
   # process is gone: the last ones may still be exiting
   wait_for (sub { !grep { (Bench::pstat ($_) || { state => "Z" })->{state} ne "Z" } Bench::children ($tpid) })
      if $tpid;

   my $wall = Bench::now - $t0;
   my @t1 = times;
   # with a template, one more process makes it reap the measured ones
   procs ($make, 1, 1) if $tpid;
   my $s1 = Bench::pstat ($who);

   my %kv = (
      n          => $n,
      secs       => sprintf ("%.4f", $wall),
      rate       => sprintf ("%.1f", $n / $wall),
      parent_cpu => sprintf ("%.2f", $t1[0] + $t1[1] - $t0[0] - $t0[1]),
      child_cpu  => sprintf ("%.2f", $s1->{ccpu} - $s0->{ccpu}),
      child_flt  => $s1->{cminflt} - $s0->{cminflt},
      model      => $AnyEvent::MODEL,
   );
   if ($tpid) {
      $kv{tmpl_cpu} = sprintf "%.2f", $s1->{cpu} - $s0->{cpu};
      $kv{tmpl_flt} = $s1->{minflt} - $s0->{minflt};
   }

   Bench::kv (%kv);
}

# create up to $n processes with $make, at most $k at a time, and none
# after $deadline (if given); each runs CORE::exit. A process is done when
# its socket reaches end-of-file and, when it is our child, it has been
# reaped. (Perl closes the socket in its global destruction, so a
# template's child may still be exiting then: the caller waits for those.)
# Returns the number of processes.
sub procs {
   my ($make, $n, $k, $deadline) = @_;

   my $cv = AE::cv ();
   my ($started, $done) = (0, 0);
   my $start;

   $start = sub {
      ++$started;
      my ($proc, $pid) = $make->();

      $proc->run ("CORE::exit", sub {
         my ($fh) = @_;
         my $w; $w = AE::io ($fh, 0, sub {
            my $len = sysread $fh, my $buf, 64;
            return if $len || !defined $len && $!{EAGAIN}; # not the end yet
            undef $w;
            close $fh;
            waitpid $pid, 0 if $pid;
            ++$done;
            if ($started < $n && !($deadline && Bench::now >= $deadline)) {
               $start->();
            } elsif ($done == $started) {
               $cv->send;
            }
         });
      });
   };

   $start->() for 1 .. ($k < $n ? $k : $n);
   wait_cv ($cv, sub { "$done of $started processes complete" });
   undef $start;

   $done
}

# the floor of "new": inside a fresh template, $k at a time, perl's own
# fork of the template and CORE::exit in the child, reaped with wait; what
# remains of a process when no parent, no socket and no command is involved
sub worker_floor {
   my ($secs, $k) = @_;

   my $t = AnyEvent::Fork->new_exec->eval (q{
      sub floor {
         my ($fh, $secs, $k) = @_;
         require Time::HiRes;
         my ($n, $live) = (0, 0);
         my $t0 = Time::HiRes::time ();
         my $end = $t0 + $secs;
         while () {
            while ($live < $k && Time::HiRes::time () < $end) {
               my $pid = fork;
               defined $pid or die "fork: $!";
               CORE::exit unless $pid;
               ++$live;
               ++$n;
            }
            last unless $live;
            wait;
            --$live;
         }
         syswrite $fh, sprintf "%d %.6f", $n, Time::HiRes::time () - $t0;
      }
   });
   $t->send_arg ($secs, $k)->run ("floor", my $cv = AE::cv);
   my $fh = $cv->recv;
   require IO::Handle;
   $fh->blocking (1);
   my $out = "";
   1 while sysread $fh, $out, 64, length $out;
   my ($n, $wall) = split / /, $out;
   die "fork.pl: the floor's template failed\n" unless $wall;

   Bench::kv (n => $n, rate => sprintf ("%.1f", $n / $wall), model => $AnyEvent::MODEL);
}

# one A/B sample of new_exec: $n processes one after the other, each
# new_exec->run ("CORE::exit"), end-of-file, waitpid; per process the wall
# time (in the parent, new_exec to reaped), and the CPU time and minor
# faults of the processes together (getrusage of the reaped children: exact
# where sys/syscall.ph gives the call, else /proc in clock ticks)
sub worker_execab {
   my ($n) = @_;

   # one executed process: run, read to its end-of-file, reaped
   my $once = sub {
      my $p = AnyEvent::Fork->new_exec;
      my $pid = $p->pid;
      $p->run ("CORE::exit", my $cv = AE::cv);
      slurp_eof ($cv->recv);
      waitpid $pid, 0;
   };

   $once->(); # a first one, not measured

   my @walls;
   my $r0 = children_usage ();
   for (1 .. $n) {
      my $t0 = Bench::now;
      $once->();
      push @walls, sprintf "%.1f", (Bench::now - $t0) * 1e6;
   }
   my $r1 = children_usage ();

   Bench::kv (
      walls => join (",", @walls),
      cpu   => sprintf ("%.1f", ($r1->[0] - $r0->[0]) * 1e6 / $n),
      flt   => sprintf ("%.1f", ($r1->[1] - $r0->[1]) / $n),
   );
}

# read a socket to its end-of-file, blocking
sub slurp_eof {
   my ($fh) = @_;
   require IO::Handle;
   $fh->blocking (1);
   1 while sysread $fh, my $buf, 64;
}

# [CPU seconds, minor faults] of our reaped children
sub children_usage {
   if (eval { require "sys/syscall.ph"; 1 }) {
      # struct rusage: utime, stime (timevals: seconds, microseconds),
      # then longs: maxrss, ixrss, idrss, isrss, minflt, ...
      my $ru = "\0" x 256;
      if (0 == syscall (&SYS_getrusage, -1, $ru)) { # RUSAGE_CHILDREN
         my @f = unpack "l!*", $ru;
         return [$f[0] + $f[2] + ($f[1] + $f[3]) / 1e6, $f[8]];
      }
   }
   my $s = Bench::pstat ($$);
   [$s->{ccpu}, $s->{cminflt}]
}

# memory of an idle template (fresh from new_exec, nothing sent), of a
# template with @MODULES loaded, of an idle child forked from the fresh
# template, and of the fresh template after that fork
sub worker_mem {
   my %kv;

   my $t = AnyEvent::Fork->new_exec;
   Bench::wait_idle ($t->pid) or die "fork.pl: template did not become idle\n";
   my $m = Bench::mem ($t->pid) or die "fork.pl: cannot read /proc/PID/smaps_rollup\n";
   @kv{qw(tmpl_rss tmpl_uss)} = @$m{qw(rss uss)};

   my $tm = AnyEvent::Fork->new_exec->require (@MODULES);
   wait_flushed ($tm);
   Bench::wait_idle ($tm->pid) or die "fork.pl: template did not become idle\n";
   $m = Bench::mem ($tm->pid);
   @kv{qw(tmods_rss tmods_uss)} = @$m{qw(rss uss)};

   my $c = $t->fork; # kept: the child lives while $c does
   wait_flushed ($t);
   my ($cpid) = wait_for (sub { Bench::children ($t->pid) });
   Bench::wait_idle ($cpid) or die "fork.pl: forked child did not become idle\n";
   $m = Bench::mem ($cpid);
   @kv{qw(child_rss child_uss)} = @$m{qw(rss uss)};

   # the fresh template again, now that it has served a fork (the original
   # loads its descriptor passing module then) and the child is gone
   undef $c;
   wait_for (sub { (Bench::pstat ($cpid) || { state => "Z" })->{state} eq "Z" });
   Bench::wait_idle ($t->pid) or die "fork.pl: template did not become idle\n";
   $m = Bench::mem ($t->pid);
   @kv{qw(tfork_rss tfork_uss)} = @$m{qw(rss uss)};

   Bench::kv (%kv);
}

# wait for $cv; a minute means something hangs: show the processes, kill
# ours and give up on this figure
sub wait_cv {
   my ($cv, $what) = @_;

   my $w = AE::timer (20, 0, sub {
      print STDERR "fork.pl: worker $$ hangs (", $what->(), "); processes:\n";
      system "ps", "-o", "pid,ppid,stat,wchan:24,args", "--forest", "-g", getpgrp;
      my @kill = Bench::children ($$);
      push @kill, map Bench::children ($_), @kill;
      kill KILL => @kill;
      require POSIX;
      POSIX::_exit (3);
   });
   $cv->recv;
}

# run the event loop until $check returns true, return what it returned
sub wait_for {
   my ($check) = @_;

   my @r;
   my $cv = AE::cv ();
   my $w = AE::timer (0, 0.01, sub { @r = $check->() and $cv->send });
   wait_cv ($cv, sub { "condition not reached" });
   @r
}

# run the event loop until the object's queue is written (its write
# watcher, element [2] in both implementations, is gone)
sub wait_flushed {
   my ($proc) = @_;

   wait_for (sub { !$proc->[2] });
}

#############################################################################
# the driver

sub main {
   my $orig = Bench::orig_lib;
   my @impl = ("ours", $orig ? "orig" : ());
   my ($secs, $k, $r) = @opt{qw(time inflight rounds)};

   my $fl = Bench::limit ("fork_limit");
   my $sl = Bench::limit ("spawn_limit");
   my (@fork_lim, @spawn_lim, %res);

   for my $round (1 .. $r) {
      # the limits, sized to take about $secs / 2 each
      my %f = Bench::run_cmd ([$fl, 20, $k]);
      %f = Bench::run_cmd ([$fl, int ($f{forks_per_s} * $secs / 2) || 20, $k]);
      push @fork_lim, $f{forks_per_s};
      my %s = Bench::run_cmd ([$sl, 4, $k, $^X, "-e", "0"]);
      %s = Bench::run_cmd ([$sl, int ($s{spawns_per_s} * $secs / 2) || 4, $k, $^X, "-e", "0"]);
      push @spawn_lim, $s{spawns_per_s};

      for my $mode (qw(floor new newslow tfork exec)) {
         # alternate the order, so that neither always runs first
         for my $impl ($round % 2 ? @impl : reverse @impl) {
            next if $mode eq "newslow" && $impl ne "ours"; # our switch
            my %kv = eval { Bench::run_sub ($impl, $0, "--worker", $mode, $secs, $k) };
            unless (%kv) {
               warn "fork.pl: $mode $impl round $round failed: $@";
               next;
            }
            my $acc = $res{$impl}{$mode} ||= {};
            push @{ $acc->{rates} }, $kv{rate};
            $acc->{$_} += $kv{$_} || 0 for qw(n secs parent_cpu tmpl_cpu child_cpu tmpl_flt child_flt);
            $acc->{model} = $kv{model};
         }
      }
   }

   # new_exec A/B: short runs of each, alternating, many times, so that
   # both see the same machine load; medians and quartiles of all samples
   my (%ab, @pair_ratio);
   for my $pair (1 .. ($orig ? $opt{pairs} : 0)) {
      my %med;
      for my $impl ($pair % 2 ? @impl : reverse @impl) {
         my %kv = eval { Bench::run_sub ($impl, $0, "--worker", "execab", 10) };
         unless (%kv) {
            warn "fork.pl: new_exec A/B $impl pair $pair failed: $@";
            next;
         }
         my @w = split /,/, $kv{walls};
         push @{ $ab{$impl}{wall} }, @w;
         push @{ $ab{$impl}{cpu} }, $kv{cpu};
         push @{ $ab{$impl}{flt} }, $kv{flt};
         $med{$impl} = (quartiles (@w))[1];
      }
      push @pair_ratio, $med{orig} / $med{ours} if $med{ours} && $med{orig};
   }

   for my $impl (@impl) {
      $res{$impl}{mem} = { eval { Bench::run_sub ($impl, $0, "--worker", "mem") } };
      warn "fork.pl: memory of $impl failed: $@" if $@;
   }

   my $flim = best (@fork_lim);
   my $slim = best (@spawn_lim);

   print "AnyEvent::Fork processes and memory: ours ($Bench::TOP/blib) vs original (",
      ($orig ? Bench::orig_root : "absent"), ")\n";
   print "original AnyEvent::Fork not found in " . Bench::orig_root . " (set AEF_ORIG): comparison skipped\n"
      unless $orig;
   printf "perl %s, %d CPUs, %s; %d rounds of %gs per figure, best round shown; %d in flight\n",
      $^V, ncpu (), $res{ours}{new}{model} || "?", $r, $secs, $k;
   printf "limits: C socketpair+fork+_exit+wait %.0f/s; C vfork+exec of 'perl -e 0' %.0f/s\n", $flim, $slim;
   my $floor = best (@{ $res{ours}{floor}{rates} || [] });
   my $ofloor = $orig ? best (@{ $res{orig}{floor}{rates} || [] }) : undef;
   printf "floor: perl's fork + CORE::exit inside a fresh template %s/s (original's template: %s/s)\n\n",
      f0 ($floor), f0 ($ofloor);

   my $fmt = "%-28s %8s %8s %8s %8s %8s %9s  %s\n";
   printf $fmt, "figure", "ours", "orig", "limit", "ours/lim", "orig/lim", "ours/orig", "target";

   # the targets: at least 1.3x the original's processes/s when forking
   # from a template, and new_exec no slower than the original's; new_exec's
   # verdict is the A/B's below (runs alternating in the same seconds), as
   # best rounds taken seconds apart differ by more than the two do
   for (["->new->run /s",           "new",   $flim, 1.3],
        ["tmpl(mods)->fork->run /s", "tfork", $flim, 1.3],
        ["new_exec->run /s",        "exec",  $slim, 1.0])
   {
      my ($name, $mode, $lim, $target) = @$_;
      my $o = best (@{ $res{ours}{$mode}{rates} || [] });
      my $g = $orig ? best (@{ $res{orig}{$mode}{rates} || [] }) : undef;
      my $q = ratio ($o, $g);
      printf $fmt, $name, f0 ($o), f0 ($g), f0 ($lim), f2 (ratio ($o, $lim)), f2 (ratio ($g, $lim)),
         f2 ($q), !defined $q ? ""
                : $mode eq "exec" ? "(A/B below)"
                : sprintf ("%s >= %.1fx", $q >= $target ? "ok  " : "MISS", $target);
   }

   # the share of the floor: how much of a process's cost is ours
   my $sfmt = "%-28s %8s %8s %8s %8s %8s\n";
   printf "\n$sfmt", "share of the floor", "ours", "orig", "floor", "ours/fl", "orig/fl";
   for (["->new->run /s", "new"], ["->new->run, exit hook off", "newslow"], ["tmpl(mods)->fork->run /s", "tfork"]) {
      my ($name, $mode) = @$_;
      my $o = best (@{ $res{ours}{$mode}{rates} || [] });
      my $g = $orig && $mode ne "newslow" ? best (@{ $res{orig}{$mode}{rates} || [] }) : undef;
      printf $sfmt, $name, f0 ($o), f0 ($g), f0 ($floor), f2 (ratio ($o, $floor)), f2 (ratio ($g, $floor));
   }
   print "(tmpl(mods) forks a bigger template than the floor's; its share is a lower bound)\n\n";

   for (["template idle RSS kB",     "tmpl_rss",  1],
        ["template idle USS kB",     "tmpl_uss",  1],
        ["template after fork RSS kB", "tfork_rss", 1],
        ["template after fork USS kB", "tfork_uss", 1],
        ["template+mods RSS kB",     "tmods_rss", 0],
        ["template+mods USS kB",     "tmods_uss", 0],
        ["forked child idle RSS kB", "child_rss", 0],
        ["forked child idle USS kB", "child_uss", 0])
   {
      my ($name, $key, $target) = @$_;
      my $o = $res{ours}{mem}{$key};
      my $g = $orig ? $res{orig}{mem}{$key} : undef;
      my $q = ratio ($o, $g);
      printf $fmt, $name, f0 ($o), f0 ($g), "", "", "", f2 ($q),
         $target && defined $q ? sprintf ("%s <= orig", $q <= 1 ? "ok  " : "MISS") : "";
   }

   print_ab (\%ab, \@pair_ratio, $opt{pairs}) if $orig;

   print "\nper process, all rounds: wall and CPU time (us) of the parent, the template\n",
         "and the process itself; minor page faults of the template and of the process\n";
   my $pfmt = "%-12s %6s %8s %8s %8s %8s %9s %9s\n";
   printf $pfmt, "figure", "impl", "wall", "parent", "template", "process", "tmpl flt", "proc flt";
   for my $mode (qw(new newslow tfork exec)) {
      for my $impl (@impl) {
         my $a = $res{$impl}{$mode} or next;
         my $per = sub { defined $_[0] && $a->{n} ? $_[0] / $a->{n} : undef };
         my $tm = $mode ne "exec";
         # newslow: new with the exit hook of forked children off
         printf $pfmt, $mode, $impl,
            f0 ($per->($a->{secs} * 1e6)),
            f0 ($per->($a->{parent_cpu} * 1e6)),
            $tm ? f0 ($per->($a->{tmpl_cpu} * 1e6)) : "-",
            f0 ($per->($a->{child_cpu} * 1e6)),
            $tm ? f1 ($per->($a->{tmpl_flt})) : "-",
            f1 ($per->($a->{child_flt}));
      }
   }
}

# print the new_exec A/B (ours and the original's samples, interleaved)
sub print_ab {
   my ($ab, $ratios, $pairs) = @_;

   printf "\nnew_exec->run (\"CORE::exit\") A/B: %d pairs of runs of 10 processes, one at a\n"
        . "time, ours and the original's alternating; median [p25 .. p75] of all samples\n", $pairs;
   my $fmt = "%-26s %22s %22s %10s\n";
   printf $fmt, "per process", "ours", "orig", "orig/ours";
   for (["wall us (parent's view)", "wall"], ["CPU us of the process", "cpu"], ["minor faults", "flt"]) {
      my ($name, $key) = @$_;
      my @o = quartiles (@{ $ab->{ours}{$key} || [] });
      my @g = quartiles (@{ $ab->{orig}{$key} || [] });
      my $q = sub { defined $_[1] ? sprintf "%.0f [%.0f .. %.0f]", @_[1, 0, 2] : "-" };
      printf $fmt, $name, $q->(@o), $q->(@g), f2 (ratio ($g[1], $o[1]));
   }
   my @r = quartiles (@$ratios);
   printf "speed ours/orig per pair (orig wall / ours wall, pair medians): %s [%s .. %s], min %s, max %s%s\n",
      f2 ($r[1]), f2 ($r[0]), f2 ($r[2]), f2 ((sort { $a <=> $b } @$ratios)[0]), f2 ((sort { $a <=> $b } @$ratios)[-1]),
      @r ? sprintf ("  %s >= 1.0x", $r[1] >= 1 ? "ok  " : "MISS") : "";
}

# (p25, median, p75) of a list of numbers; empty list for none
sub quartiles {
   my @s = sort { $a <=> $b } @_
      or return;
   map $s[int ($_ * $#s + 0.5)], 0.25, 0.5, 0.75
}

sub best {
   my $best;
   for (@_) {
      $best = $_ if !defined $best || $_ > $best;
   }
   $best
}

sub ratio {
   my ($a, $b) = @_;
   defined $a && $b ? $a / $b : undef
}

sub f0 { defined $_[0] ? sprintf "%.0f", $_[0] : "-" }
sub f1 { defined $_[0] ? sprintf "%.1f", $_[0] : "-" }
sub f2 { defined $_[0] ? sprintf "%.2f", $_[0] : "-" }

sub ncpu {
   open my $fh, "<", "/proc/cpuinfo" or return 0;
   scalar grep /^processor\s*:/, <$fh>
}
