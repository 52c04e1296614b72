#!/usr/bin/perl
# A template process with a module preloaded, and several workers forked
# from it: each fork is cheap because the template already compiled
# everything. Each worker gets its own arguments and reports on its socket.
use strict;
use warnings;
use AnyEvent;
use AnyEvent::Fork;

my $template = AnyEvent::Fork->new->require ("List::Util")->eval ('
   sub main::work {
      my ($fh, @numbers) = @_;
      syswrite $fh, "pid $$ sums @numbers to " . List::Util::sum (@numbers) . "\n";
   }
');

my $cv = AE::cv;
for my $n (1 .. 4) {
   $cv->begin;
   $template->fork->send_arg (map $_ * $n, 1 .. 3)->run ("work", sub {
      my ($fh) = @_;
      my $w; $w = AE::io $fh, 0, sub {
         sysread $fh, my $buf, 4096 or do { undef $w; return $cv->end };
         print "worker $n: $buf";
      };
   });
}
$cv->recv;
