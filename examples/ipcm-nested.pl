#!/usr/bin/perl
# A service that starts a nested service and a worker, forwards requests
# to the nested one and answers when its response comes back.
# Run: perl -Mblib examples/ipcm-nested.pl
use strict;
use warnings;
use IPC::Manager qw(ipcm_service ipcm_worker);

my $h = ipcm_service (front => (
   on_start => sub {
      my $self = shift;
      ipcm_service (back => (handle_request => sub { scalar reverse $_[1]{request} }));
      $self->peer ('back')->ready (0);
      ipcm_worker (heartbeat => sub {
         $SIG{TERM} = sub { print "worker $$: stopped\n"; exit 0 };
         sleep 1 while 1;
      });
   },
   handle_request => sub {
      my ($self, $req, $msg) = @_;
      my $from = $msg->from;
      $self->peer ('back')->send_request ($req->{request}, sub {
         my ($resp) = @_;
         $self->send_response ($from, $req->{ipcm_request_id}, "front/$resp->{response}");
      });
      return;   # the answer is sent from the callback above
   },
   handle_response => sub {
      my ($self, $resp) = @_;
      my $e = delete $self->{_RESPONSE_HANDLER}{ $resp->{ipcm_response_id} } or return;
      $e->{cb}->($resp);
   },
));

print $h->sync_request (front => "olleh", 5)->{response}, "\n";
undef $h;
