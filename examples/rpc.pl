#!/usr/bin/perl
# AnyEvent::Fork::RPC in a few seconds: a synchronous worker that reports
# progress with events, an asynchronous one that answers out of order, a
# serialiser for data structures, and how fast tiny requests go.
use strict;
use warnings;
use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;
use Time::HiRes ();

$| = 1;

printf "AnyEvent::Fork::RPC %s on the C core, AnyEvent model %s\n",
   $AnyEvent::Fork::RPC::VERSION, AnyEvent::detect;

# 1. synchronous: one request after the other; events arrive in order with
#    the results
my $done = AE::cv;
my $rpc = AnyEvent::Fork
   ->new
   ->eval (q{
      sub sum {
         my $sum = 0;
         for (@_) {
            $sum += $_;
            AnyEvent::Fork::RPC::event ("added $_");
         }
         $sum
      }
   })
   ->AnyEvent::Fork::RPC::run ("sum",
        on_event   => sub { print "1. event: @_\n" },
        on_destroy => $done,
     );

$rpc->(1 .. 3, sub { print "1. sum of 1 .. 3: @_\n" });
$rpc->(10, 20, sub { print "1. sum of 10, 20: @_\n" });
undef $rpc;      # the worker answers both, then exits
$done->recv;
print "1. worker gone\n";

# 2. asynchronous: the worker holds each request for a while; the shorter
#    waits finish first, and each result finds its callback
$done = AE::cv;
$rpc = AnyEvent::Fork
   ->new
   ->eval (q{
      use AnyEvent;
      sub later {
         my ($done, $name, $secs) = @_;
         my $w; $w = AE::timer $secs, 0, sub { undef $w; $done->("$name after ${secs}s") };
      }
   })
   ->AnyEvent::Fork::RPC::run ("later", async => 1, on_destroy => $done);

$rpc->("slow", 0.3, sub { print "2. @_\n" });
$rpc->("fast", 0.1, sub { print "2. @_\n" });
undef $rpc;
$done->recv;

# 3. data structures need a serialiser other than the default strings
$done = AE::cv;
$rpc = AnyEvent::Fork
   ->new
   ->eval ('sub stats { my ($h) = @_; { keys => [sort keys %$h], count => scalar keys %$h } }')
   ->AnyEvent::Fork::RPC::run ("stats",
        serialiser => $AnyEvent::Fork::RPC::STORABLE_SERIALISER,
        on_destroy => $done,
     );

$rpc->({ apple => 1, pear => 2 }, sub { print "3. $_[0]{count} keys: @{ $_[0]{keys} }\n" });
undef $rpc;
$done->recv;

# 4. how fast: 100000 tiny requests queued at once, one callback for all
$done = AE::cv;
$rpc = AnyEvent::Fork->new->eval ('sub echo { @_ }')->AnyEvent::Fork::RPC::run ("echo");
my $n = 100_000;
my $left = $n;
my $cb = sub { $done->send unless --$left };
my $t0 = Time::HiRes::time;
$rpc->($_, $cb) for 1 .. $n;
$done->recv;
printf "4. %d requests answered in %.2fs (%.0f/s)\n", $n, Time::HiRes::time - $t0, $n / (Time::HiRes::time - $t0);
