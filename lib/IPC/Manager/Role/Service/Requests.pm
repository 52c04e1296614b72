package IPC::Manager::Role::Service::Requests;

use strict;
use warnings;

use Carp qw(croak);
use Role::Tiny;
use IPC::Manager::Core ();

our $VERSION = '0.000038';

requires qw(client);

# client classes => whether they are this distribution's (they have
# _request_pid and _send_quick), looked at once per class
my %QUICK;

sub send_request {
   my ($self, $peer, $req, $cb) = @_;
   my $client = $self->client;
   my $id = IPC::Manager::Core::uuid ();
   my $quick = $QUICK{ ref $client };
   $quick = $QUICK{ ref $client } = ($client->can ('_request_pid') && $client->can ('_send_quick')) ? 1 : 0
      unless defined $quick;
   my $pid = $quick ? $client->_request_pid ($peer) : $client->peer_pid ($peer);
   # (a client of this distribution builds the message directly, the
   # content too)
   if ($quick) { $client->_send_quick ($peer, $req, $id) }
   else { $client->send_message ($peer, _request_content ($id, $req)) }
   if ($cb) {
      $self->{_RESPONSE_HANDLER}{$id} = { peer => $peer, pid => $pid, cb => $cb };
   }
   else {
      $self->{_RESPONSES}{$id} = { peer => $peer, pid => $pid, response => undef };
   }
   return $id;
}

# the content of a request ($id, $request) and of a response ($id of the
# request, $value [, $error]): what every sender of one builds (the
# clients of this distribution write the usual ones straight into the
# message's text, and call these when they cannot)
sub _request_content { return { ipcm_request_id => $_[0], request => $_[1] } }

sub _response_content {
   my %c = (ipcm_response_id => $_[0], response => $_[1]);
   $c{ipcm_error} = $_[2] if defined $_[2];
   return \%c;
}

sub get_response {
   my ($self, $id) = @_;
   croak "Response id '$id' has a callback assigned, cannot use both get_response() and a callback"
      if $self->{_RESPONSE_HANDLER} && $self->{_RESPONSE_HANDLER}{$id};
   my $e = $self->{_RESPONSES} && $self->{_RESPONSES}{$id};
   croak "Not expecting a response with id '$id'" unless $e;
   return () unless defined $e->{response};
   delete $self->{_RESPONSES}{$id};
   return $e->{response};
}

sub have_pending_responses {
   my $self = shift;
   return 1 if $self->{_RESPONSE_HANDLER} && %{ $self->{_RESPONSE_HANDLER} };
   for (values %{ $self->{_RESPONSES} || {} }) { return 1 unless defined $_->{response} }
   return 0;
}

sub pending_response_peer {
   my ($self, $id) = @_;
   my $e = ($self->{_RESPONSE_HANDLER} && $self->{_RESPONSE_HANDLER}{$id})
        || ($self->{_RESPONSES} && $self->{_RESPONSES}{$id})
        or return;
   return ($e->{peer}, $e->{pid});
}

sub handle_response {
   my ($self, $resp, $msg) = @_;
   my $id = $resp->{ipcm_response_id};
   if (my $h = $self->{_RESPONSE_HANDLER} && delete $self->{_RESPONSE_HANDLER}{$id}) {
      $h->{cb}->($resp, $msg);
      return;
   }
   my $e = $self->{_RESPONSES} && $self->{_RESPONSES}{$id};
   croak "Got an unexpected response for '$id'" unless $e;
   croak "Got an extra response for '$id'" if defined $e->{response};
   $e->{response} = $resp;
   return;
}

sub clear_servicerequests_fields {
   my $self = shift;
   delete @$self{qw(_RESPONSES _RESPONSE_HANDLER)};
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Role::Service::Requests - request and response bookkeeping (Role::Tiny role)

=head1 SYNOPSIS

   package My::Requester;
   use Role::Tiny::With;
   with 'IPC::Manager::Role::Service::Requests';
   sub client { $_[0]->{client} }

   my $id = $obj->send_request (echo => "hello");
   ... # receive the response message, then:
   $obj->handle_response ($msg->content, $msg);
   my ($resp) = $obj->get_response ($id);

=head1 DESCRIPTION

Consumed by every service (through L<IPC::Manager::Role::Service>) and by
L<IPC::Manager::Service::Handle>. The consuming class provides C<client>.
Pending requests live on the object itself, in two hashes code may read:

   $self->{_RESPONSES}{$id}        = {peer => $name, pid => $pid_at_send, response => undef or the response}
   $self->{_RESPONSE_HANDLER}{$id} = {peer => $name, pid => $pid_at_send, cb => $callback}

=head1 METHODS

=over

=item $id = $obj->send_request ($peer, $request [, $cb])

Sends C<< {ipcm_request_id => $id, request => $request} >> to C<$peer> and
records the request (with the peer's pid at this moment). With C<$cb>, the
response is later given to C<< $cb->($response_content, $message) >>.

=item @resp = $obj->get_response ($id)

The response hash (C<< {ipcm_response_id, response[, ipcm_error]} >>),
removed from the store, or the empty list when it has not arrived.
Croaks C<Not expecting a response with id '...'> and C<Response id '...'
has a callback assigned, cannot use both get_response() and a callback>.

=item $bool = $obj->have_pending_responses

=item ($peer, $pid) = $obj->pending_response_peer ($id)

=item $obj->handle_response ($response_content, $message)

Matches a received response: calls the callback, or stores it. Croaks
C<Got an unexpected response for '...'> and C<Got an extra response for
'...'>.

=item $obj->clear_servicerequests_fields

Deletes both hashes.

=back

=cut
