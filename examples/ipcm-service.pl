#!/usr/bin/perl
# A service with a handle: synchronous and asynchronous requests, an error
# response, a plain notification. Run: perl -Mblib examples/ipcm-service.pl
use strict;
use warnings;
use IPC::Manager qw(ipcm_service);

my $h = ipcm_service (calc => (
   handle_request => sub {
      my ($self, $req, $msg) = @_;
      my ($op, @n) = @{ $req->{request} };
      $self->client->send_message ($msg->from, { note => "computing $op" });
      return $n[0] + $n[1] if $op eq 'add';
      return $n[0] * $n[1] if $op eq 'mul';
      die "unknown operation '$op'\n";
   },
   expose_error_details => 1,
));

print "service pid ", $h->service_pid, "\n";

my $r = $h->sync_request (calc => [add => 2, 3], 5);
print "2 + 3 = $r->{response}\n";

$h->send_request (calc => [mul => $_, $_], sub { print "square: $_[0]{response}\n" }) for 1 .. 4;
$h->await_all_responses (5);

$r = $h->sync_request (calc => ['pow', 2, 8], 5);
print "error: $r->{ipcm_error}";

$h->poll (0);
print "notifications: ", scalar (my @n = $h->messages), "\n";

undef $h;   # stops the service and removes the bus
print "done\n";
