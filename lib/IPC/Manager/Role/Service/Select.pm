package IPC::Manager::Role::Service::Select;

use strict;
use warnings;

use Role::Tiny;
use IO::Select ();

our $VERSION = '0.000038';

requires qw(client);

sub select_handles {
   my $self = shift;
   my $client = $self->client;
   return () unless $client->have_handles_for_select;
   return $client->handles_for_select;
}

sub select {
   my $self = shift;
   my $client = $self->client;
   return $self->{_SELECT} if $self->{_SELECT} && !$client->have_dynamic_handles_for_select;
   my @h = $self->select_handles;
   my $sel = @h ? IO::Select->new (@h) : undef;
   $self->{_SELECT} = $sel unless $client->have_dynamic_handles_for_select;
   return $sel;
}

sub clear_serviceselect_fields {
   my $self = shift;
   delete @$self{qw(_SELECT _RIN)};
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Role::Service::Select - an IO::Select of a client's message handles (Role::Tiny role)

=head1 SYNOPSIS

   my $sel = $handle->select;      # IO::Select, or undef without handles
   my @ready = $sel->can_read (1) if $sel;

=head1 DESCRIPTION

Consumed by services and handles. C<select> returns an L<IO::Select> of
the handles on which the object's client receives messages, cached in
C<< $self->{_SELECT} >> unless the client's handle set changes at runtime
(ConnectionUnix). It is undef when the protocol has nothing to wait on
(MessageFiles without inotify).

=head1 METHODS

C<select>, C<select_handles>, C<clear_serviceselect_fields>.

=cut
