package IPC::Manager::Service::Echo;

use strict;
use warnings;

use Role::Tiny::With;
use IPC::Manager::Base ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

sub init {
   my $self = shift;
   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return;
}

__PACKAGE__->_accessors (ro => [qw(name orig_io ipcm_info redirect)],
                         rw => [qw(pid use_posix_exit intercept_errors watch_pids)]);

sub handle_request {
   my ($self, $req, $msg) = @_;
   my $r = $req->{request};
   return "echo: " . (defined $r ? $r : '');
}

with 'IPC::Manager::Role::Service';

1;
__END__

=head1 NAME

IPC::Manager::Service::Echo - the reference service class

=head1 SYNOPSIS

   my $h = ipcm_service (echo => (class => 'IPC::Manager::Service::Echo'));
   print $h->sync_request (echo => "ping")->{response};   # echo: ping

=head1 DESCRIPTION

A minimal class doing L<IPC::Manager::Role::Service>: its
C<handle_request> answers C<"echo: REQUEST">. It holds nothing but plain
values, so it also runs in exec mode. Accessors: C<name orig_io ipcm_info
redirect pid set_pid use_posix_exit intercept_errors watch_pids>.

=cut
