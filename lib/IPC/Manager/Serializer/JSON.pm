package IPC::Manager::Serializer::JSON;

use strict;
use warnings;

use Cpanel::JSON::XS ();
use IPC::Manager::Serializer ();
our @ISA = ('IPC::Manager::Serializer');

our $VERSION = '0.000038';

my $JSON = Cpanel::JSON::XS->new->ascii->convert_blessed->allow_nonref;

sub json { $JSON }

sub serialize   { $JSON->encode ($_[1]) }
sub deserialize { $JSON->decode ($_[1]) }

1;
__END__

=head1 NAME

IPC::Manager::Serializer::JSON - the default bus serializer (JSON via Cpanel::JSON::XS)

=head1 SYNOPSIS

   my $bytes = IPC::Manager::Serializer::JSON->serialize ({hello => "w\x{f6}rld"});
   my $data  = IPC::Manager::Serializer::JSON->deserialize ($bytes);

=head1 DESCRIPTION

JSON text in ASCII (every non-ASCII character escaped), objects with a
C<TO_JSON> method converted through it (messages are such objects), and
plain scalars allowed at the top level (a message's content may be a
string). It is the serializer of every bus unless another one is asked
for.

=head1 METHODS

=over

=item $bytes = CLASS->serialize ($data)

Croaks on data JSON cannot hold, for example a code reference
(C<encountered CODE(0x...), but JSON can only represent references to
arrays or hashes>).

=item $data = CLASS->deserialize ($bytes)

Croaks on malformed JSON. (The bus protocols of this distribution decode
the usual messages of this serializer in C, with the same result, and
hand everything else to this coder: see
L<IPC::Manager::Client::ConnectionUnix>. A serializer class of your own
is always called.)

=item $coder = CLASS->json

The Cpanel::JSON::XS object used.

=back

=cut
