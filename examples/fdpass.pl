#!/usr/bin/perl
# Passing file descriptors: the child receives the write end of a pipe and
# writes to it; the parent drops its own copy right after send_fh, so it
# sees end-of-file as soon as the child is done.
use strict;
use warnings;
use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Util ();

my ($r, $w) = AnyEvent::Util::portable_pipe;

my $proc = AnyEvent::Fork->new;
$proc->send_fh ($w)
     ->eval ('syswrite $arg[0], "hello from process $$ through a passed descriptor\n" for 1 .. 3');
undef $w;      # the queue keeps it until it is sent
undef $proc;   # the child exits once it has done everything queued

# commands are written while the event loop runs: wait for end-of-file
my $cv = AE::cv;
my $rw = AE::io $r, 0, sub {
   sysread $r, my $buf, 4096 or return $cv->send;
   print $buf;
};
$cv->recv;
print "end-of-file: no copy of the write end is left anywhere\n";
