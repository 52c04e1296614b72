package IPC::Manager::Serializer;

use strict;
use warnings;

our $VERSION = '0.000038';

use IPC::Manager::Base ();
our @ISA = ('IPC::Manager::Base');

sub serialize   { die ref ($_[0]) || $_[0], " does not implement serialize()\n" }
sub deserialize { die ref ($_[0]) || $_[0], " does not implement deserialize()\n" }

sub viable { 1 }

1;
__END__

=head1 NAME

IPC::Manager::Serializer - base class of the bus serializers

=head1 SYNOPSIS

   package My::Serializer;
   our @ISA = ('IPC::Manager::Serializer');
   sub serialize   { my ($class, $data) = @_; ... return $bytes }
   sub deserialize { my ($class, $bytes) = @_; ... return $data }

   # on the bus:
   my $spawn = ipcm_spawn (serializer => '+My::Serializer');

=head1 DESCRIPTION

A serializer turns a message (a hash, see L<IPC::Manager::Message>) into
bytes and back. Both methods are called on the class name or on an
instance: a bus whose serializer was given as C<[$class, %args]> uses one
cached instance built by C<< $class->new (%args) >>.

The serializer's class name is part of the bus's connection string, so
every process joining the bus loads the same class.

=head1 METHODS

=over

=item $bytes = CLASS->serialize ($data)

=item $data = CLASS->deserialize ($bytes)

Dies on bytes it cannot decode; the bus reports such a message and skips
it.

=item CLASS->new (%args)

A blessed hash of the arguments.

=back

=cut
