package IPC::Manager::Base;

use strict;
use warnings;

our $VERSION = '0.000038';

# Class->new (%params) or Class->new (\%params): every key is kept, then
# init checks and completes the object
sub new {
   my $class = shift;
   my %p = (@_ == 1 && ref $_[0] eq 'HASH') ? %{ $_[0] } : @_;
   my $self = bless {%p}, $class;
   $self->init;
   return $self;
}

sub init { return }

# installs read accessors (ro), and read accessors plus set_NAME writers (rw)
sub _accessors {
   my ($class, %spec) = @_;
   no strict 'refs';
   for my $f (@{ $spec{ro} || [] }, @{ $spec{rw} || [] }) {
      *{"${class}::$f"} = sub { $_[0]->{$f} };
   }
   for my $f (@{ $spec{rw} || [] }) {
      *{"${class}::set_$f"} = sub { $_[0]->{$f} = $_[1] };
   }
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Base - the constructor and accessors shared by the IPC::Manager classes

=head1 SYNOPSIS

   package IPC::Manager::Thing;
   our @ISA = ('IPC::Manager::Base');
   __PACKAGE__->_accessors (ro => [qw(name)], rw => [qw(pid)]);
   sub init { my $self = shift; ... }

=head1 DESCRIPTION

Objects are blessed hashes: C<new> keeps every given key (unknown ones
too) and then calls C<init>, which subclasses extend. C<_accessors>
installs read accessors and, for C<rw>, C<set_NAME> writers.

=cut
