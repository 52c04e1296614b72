package IPC::Manager::Service::Peer;

use strict;
use warnings;

use Carp qw(croak);
use Scalar::Util qw(weaken);
use IPC::Manager::Base ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

sub init {
   my $self = shift;
   croak "'name' is required"    unless defined $self->{name};
   croak "'service' is required" unless $self->{service};
   croak "'service' must be the current process"
      unless defined $self->{service}->pid && $self->{service}->pid == $$;
   weaken $self->{service};
   return;
}

__PACKAGE__->_accessors (ro => [qw(name service child_pid)]);
sub _set_child_pid { $_[0]->{child_pid} = $_[1] }

sub ready {
   my ($self, $timeout) = @_;
   return $self->{service}->client->peer_active ($self->{name}, $timeout) ? 1 : 0;
}

sub send_request {
   my ($self, $req, $cb) = @_;
   return $self->{service}->send_request ($self->{name}, $req, $cb);
}

sub get_response {
   my ($self, $id) = @_;
   return $self->{service}->get_response ($id);
}

1;
__END__

=head1 NAME

IPC::Manager::Service::Peer - another service, seen from inside a service

=head1 SYNOPSIS

   on_start => sub {
      my $self = shift;
      my $db = ipcm_service (db => (handle_request => sub { ... }));   # a Peer
      $self->{db} = $db;
   },
   handle_request => sub {
      my ($self, $req, $msg) = @_;
      my $id = $self->{db}->send_request ($req->{request});
      ...   # the response arrives through the loop (handle_response)
   },

=head1 DESCRIPTION

A peer belongs to the service object of the current process (held
weakly) and sends through its client. It cannot block: there is no
C<sync_request> or C<await_response>; responses come back through the
service's loop.

=head1 METHODS

=over

=item new (name => $name, service => $service)

Croaks C<'name' is required>, C<'service' is required>, C<'service' must
be the current process>. Usually made by C<< $service->peer ($name) >>.

=item $bool = $peer->ready ([$timeout])

=item $id = $peer->send_request ($request [, $cb])

=item @resp = $peer->get_response ($id)

=item name, service, child_pid

=back

=cut
