#!/usr/bin/perl
# AnyEvent::Task server: workers with a lazy setup and a hash interface.
# Start it, then run examples/task-client.pl with the same socket path.
#
#    perl examples/task-server.pl /tmp/task-example.socket
use strict;
use warnings;
use AnyEvent::Task::Server;
use AnyEvent::Task::Logger;

my $path = shift || "/tmp/task-example.socket";

my %cache;   # per worker: built by setup, lives as long as the worker

AnyEvent::Task::Server->new (
   name => 'example',
   listen => ['unix/', $path],
   setup => sub {
      # runs in each worker right before its first request; a database
      # connection would be opened here
      %cache = (started => time, pid => $$);
   },
   interface => {
      add => sub {
         my ($x, $y) = @_;
         logger->info ("adding", $x, $y);
         $x + $y
      },
      whoami => sub { "worker $cache{pid}, up since $cache{started}" },
      fail => sub { die "this method always fails\n" },
      slow => sub { sleep $_[0]; "slept $_[0]s" },
   },
   checkout_done => sub {
      # runs when a client lets its checkout go: reset per-client state
   },
)->run;
