#!/usr/bin/perl
# AnyEvent::Task: checkout timeouts, the hung-worker alarm and a deferred
# log that collects what the client and the worker did. Self-contained: it
# forks its own server.
use strict;
use warnings;
use AnyEvent::Task::Server;
use AnyEvent::Task::Client;
use AnyEvent::Task::Logger;
use Callback::Frame;
use File::Temp ();

my $dir = File::Temp->newdir;

# first, before any watcher exists
AnyEvent::Task::Server::fork_task_server (
   listen => ['unix/', "$dir/socket"],
   hung_worker_timeout => 2,
   interface => {
      work => sub {
         logger->info ("working on", $_[0]);
         my $t = logger->timer ("thinking");
         select undef, undef, undef, 0.1;
         "done with $_[0]"
      },
      nap  => sub { select undef, undef, undef, $_[0]; "woke up" },
   },
);

my $client = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/socket"]);

sub attempt {
   my ($what, $timeout, @call) = @_;
   my $cv = AE::cv;
   frame_try {
      my $method = shift @call;
      $client->checkout (timeout => $timeout)->$method (@call, sub { $cv->send ("ok: $_[1]") });
   } frame_catch {
      $cv->send ("error: $@");
   };
   my $r = $cv->recv;
   chomp $r;
   printf "%-40s %s\n", $what, $r;
}

attempt ("a nap within the timeout:", 1, nap => 0.2);
attempt ("a nap longer than the timeout:", 0.3, nap => 1);
attempt ("a nap longer than the hung-worker alarm:", 10, nap => 5);

# the deferred log: the client's and the worker's entries in one message
my $cv = AE::cv;
{
   my $log = Log::Defer->new (sub {
      my $msg = shift;
      print "\nthe deferred log, delivered when the last reference went:\n";
      printf "  log   +%.6fs level %d: %s\n", $_->[0], $_->[1], join " ", @$_[2 .. $#$_] for @{ $msg->{logs} };
      printf "  timer %-9s %.6fs .. %.6fs\n", @$_ for @{ $msg->{timers} };
      $cv->send;
   });
   $log->info ("client starts");
   my $co = $client->checkout (log_defer_object => $log);
   $co->work ("job 1", sub {
      $log->info ("client got: $_[1]");
      undef $co;
   });
}
$cv->recv;
