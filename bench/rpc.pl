#!/usr/bin/perl

# bench/rpc.pl - AnyEvent::Fork::RPC: round trips, queued calls, bulk
# echo, serialisers and worker memory, beside the machine's limits (socket
# ping-pong and streaming, measured in the same run by bench/limits/) and
# beside the targets derived from the original RPC 2.0 (not packaged by
# Debian: its figures, measured on the same class of machine (2 cores), are
# quoted below as constants).
#
# run with: perl Makefile.PL && make && perl bench/rpc.pl [--quick]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Bench;
use Getopt::Long ();
use AnyEvent (); # the workers load the rest

my %opt = (rounds => 5, time => 1, queue => 100_000);

#############################################################################
# sub-benchmarks: each runs in a perl of its own with our blib, and prints
# key=value lines

sub worker {
   my ($mode, @args) = @_;

   require AnyEvent;
   require AnyEvent::Fork;
   require AnyEvent::Fork::RPC;

   my $code = {
      evpp   => \&w_evpp,
      rt     => \&w_roundtrips,
      queue  => \&w_queue,
      perlcl => \&w_perlcl,
      echo   => \&w_echo,
      serial => \&w_serial,
      mem    => \&w_mem,
      floor  => \&w_floor,
   }->{$mode} or die "rpc.pl: unknown worker mode '$mode'\n";

   Bench::kv ($code->(@args), model => $AnyEvent::MODEL || "none");
}

my $ECHO = 'sub echo { @_ } sub aecho { my $done = shift; $done->(@_) }';

sub rpc {
   my ($async, %opt) = @_;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ($ECHO)
      ->AnyEvent::Fork::RPC::run ($async ? "aecho" : "echo", async => $async, %opt,
           on_error => sub { die "rpc.pl: worker failed: @_\n" });

   # connected and warm
   my $cv = AE::cv;
   $rpc->(1, $cv);
   $cv->recv;

   $rpc
}

# one request at a time, each sent from the previous one's callback, for
# $secs seconds
sub w_roundtrips {
   my ($async, $secs) = @_;

   my $rpc = rpc ($async);
   my $n = 0;
   my $cv = AE::cv;
   my $end = Bench::now + $secs;
   my $next; $next = sub {
      return $cv->send if ++$n % 256 == 0 && Bench::now >= $end;
      $rpc->("ping", $next);
   };

   my $t = Bench::timeit (sub { $next->(); $cv->recv });
   undef $next;

   (n => $n, rate => sprintf "%.0f", $n / $t)
}

# the same without RPC: an AnyEvent read watcher and syswrite in the
# parent, a blocking sysread/syswrite loop in a forked child: what any
# AnyEvent program gets out of the loop
sub w_evpp {
   my ($secs) = @_;

   require Socket;
   socketpair my $p, my $c, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0
      or die "rpc.pl: socketpair: $!\n";
   my $pid = fork // die "rpc.pl: fork: $!\n";
   unless ($pid) {
      close $p;
      syswrite $c, $_ while sysread $c, $_, 8;
      require POSIX;
      POSIX::_exit (0);
   }
   close $c;

   my $n = 0;
   my $cv = AE::cv;
   my $end = Bench::now + $secs;
   my $w = AE::io $p, 0, sub {
      sysread $p, my $buf, 8;
      return $cv->send if ++$n % 256 == 0 && Bench::now >= $end;
      syswrite $p, "pingpong";
   };
   my $t = Bench::timeit (sub { syswrite $p, "pingpong"; $cv->recv });
   undef $w;
   close $p;
   waitpid $pid, 0;

   (n => $n, rate => sprintf "%.0f", $n / $t)
}

# $n tiny requests queued at once, one callback for all, or with $fresh a
# fresh closure per call (what programs write; perl's cost of making and
# freeing closures is then part of the figure); the time runs from the
# first call to the last result
sub w_queue {
   my ($async, $n, $rounds, $fresh) = @_;

   my $rpc = rpc ($async);
   my @rates;

   for (1 .. $rounds) {
      my ($left, $cv) = ($n, AE::cv);
      my $cb = sub { $cv->send unless --$left };
      push @rates, $n / Bench::timeit ($fresh
         ? sub { $rpc->("x", sub { $cv->send unless --$left }) for 1 .. $n; $cv->recv }
         : sub { $rpc->("x", $cb) for 1 .. $n; $cv->recv });
   }

   (rate => sprintf "%.0f", best (@rates))
}

# perl alone: the same $n closures made, each called once and freed in
# the order they were made, with their package links taken off last-first
# (what perl pays at best for a closure per call, with no RPC at all)
sub w_perlcl {
   my ($n, $rounds) = @_;

   my @rates;
   for (1 .. $rounds) {
      my ($left, @q) = ($n);
      push @rates, $n / Bench::timeit (sub {
         push @q, sub { --$left } for 1 .. $n;
         # called in order, freed last-first: perl's cheap removal
         $_->() for @q;
         pop @q while @q;
      });
   }

   (rate => sprintf "%.0f", best (@rates))
}

# a string of $mib MiB echoed $rounds times, one at a time: MiB/s of payload
sub w_echo {
   my ($async, $size, $rounds) = @_;

   my $rpc = rpc ($async);
   my $s = "\x5a" x $size;
   my @rates;

   for (1 .. $rounds) {
      my $cv = AE::cv;
      my $t = Bench::timeit (sub { $rpc->($s, $cv); $cv->recv });
      push @rates, $size / 1048576 / $t;
   }

   (rate => sprintf "%.1f", best (@rates))
}

# a small hash through a serialiser, $n queued at once
sub w_serial {
   my ($name, $n, $rounds) = @_;

   no strict "refs";
   my $rpc = rpc (0, serialiser => ${"AnyEvent::Fork::RPC::${name}_SERIALISER"});
   my $data = { id => 42, name => "widget", tags => ["a", "b", "c"], price => 9.95 };
   my @rates;

   for (1 .. $rounds) {
      my ($left, $cv) = ($n, AE::cv);
      my $cb = sub { $cv->send unless --$left };
      push @rates, $n / Bench::timeit (sub {
         $rpc->($data, $cb) for 1 .. $n;
         $cv->recv;
      });
   }

   (rate => sprintf "%.0f", best (@rates))
}

# memory of an idle worker that has answered one request
sub w_mem {
   my ($async) = @_;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub pid { $$ } sub apid { $_[0]->($$) }')
      ->AnyEvent::Fork::RPC::run ($async ? "apid" : "pid", async => $async);
   my $cv = AE::cv;
   $rpc->($cv);
   my $pid = $cv->recv;

   Bench::wait_idle ($pid) or die "rpc.pl: worker did not become idle\n";
   my $m = Bench::mem ($pid) or die "rpc.pl: cannot read /proc/$pid/smaps_rollup\n";

   (rss => $m->{rss}, uss => $m->{uss})
}

# memory of an idle process forked the same way, without RPC: one that
# waits in a blocking read (the floor of a sync worker) or in an AnyEvent
# loop with a read watcher on its socket (the floor of an async worker)
sub w_floor {
   my ($loop) = @_;

   my $cv = AE::cv;
   AnyEvent::Fork
      ->new
      ->eval (q{
         sub wait {
            my ($fh, $loop) = @_;
            syswrite $fh, "$$\n";
            unless ($loop) {
               sysread $fh, my $buf, 1;
               exit;
            }
            require AnyEvent;
            my $w = AE::io ($fh, 0, sub { exit });
            $AnyEvent::MODEL eq "AnyEvent::Impl::EV" ? EV::run () : AE::cv ()->recv;
         }
      })
      ->send_arg ($loop)
      ->run ("wait", sub {
         my ($fh) = @_;
         my $w; $w = AE::io $fh, 0, sub { sysread $fh, my $pid, 64; undef $w; $cv->send ($pid + 0, $fh) };
      });
   my ($pid, $fh) = $cv->recv;

   Bench::wait_idle ($pid) or die "rpc.pl: process did not become idle\n";
   my $m = Bench::mem ($pid) or die "rpc.pl: cannot read /proc/$pid/smaps_rollup\n";

   (rss => $m->{rss}, uss => $m->{uss})
}

sub best { (sort { $b <=> $a } @_)[0] }

#############################################################################
# the driver

# the original RPC, when the original's tree (see Bench::orig_root) has it
sub orig_rpc {
   my $lib = Bench::orig_lib
      or return;
   grep -f "$_/AnyEvent/Fork/RPC.pm", split /:/, $lib
}

sub main {
   my ($r, $secs, $q) = @opt{qw(rounds time queue)};

   my $pp = Bench::limit ("pingpong");
   my $st = Bench::limit ("stream");
   my @impl = ("ours", orig_rpc () ? "orig" : ());

   print "AnyEvent::Fork::RPC benchmark, best of $r rounds
";
   print @impl > 1
      ? "the original RPC from " . Bench::orig_root . " runs beside ours
"
      : "the original RPC is not in " . Bench::orig_root . " (\$AEF_ORIG): its figures are
"
      . "quoted, as measured on the same class of machine\n";
   print "\n";

   # $res{$impl}{$key}: the key=value figures of one sub-benchmark
   my %res;
   my $sub = sub {
      my ($impl, $key, @args) = @_;
      $res{$impl}{$key} = { Bench::run_sub ($impl => $0, "--worker", @args) };
      $res{$impl}{$key}
   };

   # the limits and the round trips take turns, round by round, so that the
   # load of a shared machine hits all alike; the best round of each counts
   my (@ppl, @evl, @stl, %rt);
   for (1 .. $r) {
      my %p = Bench::run_cmd ([$pp, 20_000]);
      push @ppl, $p{rate};
      push @evl, $sub->(ours => ev => evpp => $secs)->{rate};
      for my $impl (@impl) {
         push @{ $rt{$impl}{sync} }, $sub->($impl, rt => rt => 0, $secs)->{rate};
         push @{ $rt{$impl}{async} }, $sub->($impl, rt => rt => 1, $secs)->{rate};
      }
      my %s = Bench::run_cmd ([$st, 2048]);
      push @stl, $s{rate};
   }
   my ($pp_lim, $ev_lim, $st_lim) = (best (@ppl), best (@evl), best (@stl));

   my %fig; # $fig{$impl}{$name}
   for my $impl (@impl) {
      my $f = $fig{$impl} = {};
      $f->{rt}    = best (@{ $rt{$impl}{sync} });
      $f->{rta}   = best (@{ $rt{$impl}{async} });
      $f->{q}     = $sub->($impl, q => queue => 0, $q, $r)->{rate};
      $f->{qa}    = $sub->($impl, q => queue => 1, $q, $r)->{rate};
      for my $n (1_000, 100_000, 300_000) {
         my $rr = $n < 10_000 ? 5 * $r : $n > 100_000 ? 1 : $r;
         $f->{"fresh$n"}  = $sub->($impl, "fr$n"  => queue => 0, $n, $rr, 1)->{rate};
         $f->{"fresha$n"} = $sub->($impl, "fra$n" => queue => 1, $n, $rr, 1)->{rate};
         $f->{"perlcl$n"} = $sub->($impl, "pc$n"  => perlcl => $n, $rr)->{rate};
      }
      $f->{e1}    = $sub->($impl, e => echo => 0, 1 << 20, 3 * $r)->{rate};
      $f->{e64}   = $sub->($impl, e => echo => 0, 64 << 20, $r)->{rate};
      $f->{e64a}  = $sub->($impl, e => echo => 1, 64 << 20, $r)->{rate};
      for my $name (qw(STRING JSON CBOR_XS)) {
         my $mod = { STRING => undef, JSON => "JSON", CBOR_XS => "CBOR::XS" }->{$name};
         next if $mod && !eval "require $mod; 1";
         $f->{"ser_$name"} = $sub->($impl, s => serial => $name, 20_000, $r)->{rate};
      }
      @$f{qw(rss uss)}   = @{ $sub->($impl, m => mem => 0) }{qw(rss uss)};
      @$f{qw(arss auss)} = @{ $sub->($impl, m => mem => 1) }{qw(rss uss)};
      @$f{qw(prss puss)} = @{ $sub->($impl, f => floor => 0) }{qw(rss uss)};
      @$f{qw(frss fuss)} = @{ $sub->($impl, f => floor => 1) }{qw(rss uss)};
      $f->{model} = $res{$impl}{m}{model};
   }

   my $ours = $fig{ours};
   my $orig = $fig{orig};

   print "event model: $ours->{model}\n";
   printf "limits: C socketpair ping-pong %.0f round trips/s; C stream (64 KiB writes) %.0f MiB/s\n",
      $pp_lim, $st_lim;
   printf "        AnyEvent ping-pong without RPC (perl, same loop) %.0f round trips/s = %.2f of C\n",
      $ev_lim, $ev_lim / $pp_lim;
   print  "        fresh closures: the limit is perl alone making, calling and freeing as many\n",
          "        closures (freed last-first, perl's cheap order; no RPC)\n\n";

   my @rows = (
      # key, figure, unit, limit, target, the original's figure (quoted)
      [rt    => "round trips, sync, one at a time",  "/s",    $pp_lim, ">= 0.85 of C ping-pong", "23k/s = 0.57 of C"],
      [rta   => "round trips, async, one at a time", "/s",    $pp_lim, "",                       ""],
      [q     => "$q calls queued at once, sync",     "/s",    undef,   ">= 390000/s (5 x 78k)",  "78k/s"],
      [qa    => "$q calls queued at once, async",    "/s",    undef,   ">= 410000/s (5 x 82k)",  "82k/s"],
      (map {
         my ($n, $o, $x) = @$_;
         ([ "fresh$n"  => "$n calls, fresh closure each, sync",  "/s", $ours->{"perlcl$n"}, sprintf (">= %d/s (%d x %dk)", $x * $o, $x, $o / 1000), ($o / 1000) . "k/s"],
          [ "fresha$n" => "$n calls, fresh closure each, async", "/s", $ours->{"perlcl$n"}, sprintf (">= %d/s (%d x %dk)", $x * $o, $x, $o / 1000), ($o / 1000) . "k/s"])
      } [1_000, 211_000, 4], [100_000, 80_000, 5], [300_000, 33_000, 10]),
      [e1    => "1 MiB echo, sync",                  "MiB/s", $st_lim, "",                       ""],
      [e64   => "64 MiB echo, sync",                 "MiB/s", $st_lim, ">= 480 & 0.28 of limit", "48 MiB/s"],
      [e64a  => "64 MiB echo, async",                "MiB/s", $st_lim, "",                       ""],
      (map ["ser_$_" => "small hash, $_ serialiser, queued", "/s", undef, "", ""],
         grep exists $ours->{"ser_$_"}, qw(STRING JSON CBOR_XS)),
      [rss   => "idle sync worker RSS",              "kB",    undef,   "<= 4500 kB",             "4.5 MB"],
      [uss   => "idle sync worker USS",              "kB",    undef,   "<= 450 kB",              "0.45 MB"],
      [arss  => "idle async worker RSS",             "kB",    undef,   "<= 6400 kB",             "6.4 MB"],
      [auss  => "idle async worker USS",             "kB",    undef,   "<= 1900 kB",             "1.9 MB"],
      [prss  => "idle forked process, no RPC, RSS",  "kB",    undef,   "(floor of sync)",        ""],
      [puss  => "idle forked process, no RPC, USS",  "kB",    undef,   "(floor of sync)",        ""],
      [frss  => "idle AnyEvent-only process RSS",    "kB",    undef,   "(floor of async)",       ""],
      [fuss  => "idle AnyEvent-only process USS",    "kB",    undef,   "(floor of async)",       ""],
   );

   my $fmt = "%-36s %15s %8s   %-23s %s\n";
   printf $fmt, "figure", "ours", "of limit", "target", $orig ? "original (measured)" : "original (quoted)";
   for (@rows) {
      my ($key, $name, $unit, $lim, $target, $quoted) = @$_;
      my $v = $ours->{$key};
      printf $fmt,
         $name, (defined $v ? "$v $unit" : "n/a"),
         ($lim && $v ? sprintf "%.2f", $v / $lim : ""),
         $target,
         $orig ? (defined $orig->{$key} ? "$orig->{$key} $unit" : "n/a") : $quoted;
   }

   print "\nverdict:\n";
   my @checks = (
      ["round trips >= 0.85 of ping-pong", $ours->{rt} / $pp_lim >= 0.85,
         sprintf "%.2f (%.2f of the AnyEvent ping-pong)", $ours->{rt} / $pp_lim, $ours->{rt} / $ev_lim],
      ["queued sync >= 390k/s",  $ours->{q}  >= 390_000, $ours->{q}],
      ["queued async >= 410k/s", $ours->{qa} >= 410_000, $ours->{qa}],
      (map {
         my ($n, $o, $x) = @$_;
         (["fresh closures, $n calls, sync >= ${x}x " . ($o / 1000) . "k", $ours->{"fresh$n"} >= $x * $o,
             sprintf ("%.1fx, %.2f of perl alone", $ours->{"fresh$n"} / $o, $ours->{"fresh$n"} / $ours->{"perlcl$n"})],
          ["fresh closures, $n calls, async >= ${x}x " . ($o / 1000) . "k", $ours->{"fresha$n"} >= $x * $o,
             sprintf ("%.1fx, %.2f of perl alone", $ours->{"fresha$n"} / $o, $ours->{"fresha$n"} / $ours->{"perlcl$n"})])
      } [1_000, 211_000, 4], [100_000, 80_000, 5], [300_000, 33_000, 10]),
      ["64 MiB echo >= 10x 48 MiB/s, >= 0.28 of C stream", $ours->{e64} >= 480 && $ours->{e64} / $st_lim >= 0.28,
         sprintf "%.1f MiB/s = %.1fx, %.2f of the stream limit", $ours->{e64}, $ours->{e64} / 48, $ours->{e64} / $st_lim],
      ["sync worker RSS <= 4500 kB, USS <= 450 kB", $ours->{rss} <= 4500 && $ours->{uss} <= 450,
         sprintf "%d kB, %d kB (%+d kB, %+d kB over a plain forked process)", $ours->{rss}, $ours->{uss},
            $ours->{rss} - $ours->{prss}, $ours->{uss} - $ours->{puss}],
      ["async worker RSS <= 6400 kB, USS <= 1900 kB", $ours->{arss} <= 6400 && $ours->{auss} <= 1900,
         sprintf "%d kB, %d kB (%+d kB, %+d kB over an AnyEvent-only process)", $ours->{arss}, $ours->{auss},
            $ours->{arss} - $ours->{frss}, $ours->{auss} - $ours->{fuss}],
   );
   printf "  %-46s %-6s %s\n", $_->[0], $_->[1] ? "met" : "MISSED", $_->[2] for @checks;
}

#############################################################################

if (@ARGV && $ARGV[0] eq "--worker") {
   shift;
   worker (@ARGV);
} else {
   Getopt::Long::GetOptions (\%opt, "rounds=i", "time=f", "queue=i", "quick")
      or die "usage: $0 [--rounds R] [--time S] [--queue N] [--quick]\n";
   @opt{qw(rounds time queue)} = (2, 0.5, 50_000) if $opt{quick};
   main ();
}
