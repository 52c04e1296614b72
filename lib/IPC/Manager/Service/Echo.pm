package IPC::Manager::Service::Echo;

use strict;
use warnings;

use Role::Tiny::With;

our $VERSION = '0.000038';

sub new {
   my $class = shift;
   my %p = (@_ == 1 && ref $_[0] eq 'HASH') ? %{$_[0]} : @_;
   my $self = bless {%p}, $class;
   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return $self;
}

for my $f (qw(name orig_io ipcm_info redirect pid)) {
   no strict 'refs';
   *$f = sub { $_[0]->{$f} };
}
for my $f (qw(use_posix_exit intercept_errors watch_pids)) {
   no strict 'refs';
   *$f = sub { $_[0]->{$f} };
   *{"set_$f"} = sub { $_[0]->{$f} = $_[1] };
}
sub set_pid { $_[0]->{pid} = $_[1] }

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
