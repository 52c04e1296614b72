#!/usr/bin/perl
# AnyEvent::Task client: check out a worker, call it, catch its errors.
# Needs examples/task-server.pl running on the same socket path.
#
#    perl examples/task-client.pl /tmp/task-example.socket
use strict;
use warnings;
use AnyEvent::Task::Client;
use Callback::Frame;

my $path = shift || "/tmp/task-example.socket";

my $client = AnyEvent::Task::Client->new (
   connect => ['unix/', $path],
   name => 'example client',
);

my $done = AE::cv;

my $checkout = $client->checkout (timeout => 5);

frame_try {
   $checkout->add (2, 3, sub {
      my ($checkout, $sum) = @_;
      print "2 + 3 = $sum\n";

      $checkout->whoami (sub {
         print "served by $_[1]\n";

         # the worker dies: the error arrives in the catch handler below
         $checkout->fail (sub { print "never printed\n" });
      });
   });
} frame_catch {
   my $trace = shift;
   print "caught: $@";
   print "trace:\n$trace";
   $done->send;
};

$done->recv;
