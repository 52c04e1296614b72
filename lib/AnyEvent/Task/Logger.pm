package AnyEvent::Task::Logger;

use strict;
use warnings;

our $VERSION = '0.805';

use AnyEvent::Task::Companion ();
use Log::Defer ();

our @ISA = qw(Exporter);
require Exporter;
our @EXPORT = qw(logger);

our $log_defer_object;

sub logger {
   $log_defer_object ||= Log::Defer->new (sub {})
}

1

__END__

=head1 NAME

AnyEvent::Task::Logger - a deferred log for the request a worker is handling

=head1 SYNOPSIS

   use AnyEvent::Task::Logger;   # exports logger

   # in a worker's interface (or setup):
   logger->info ("about to compress", length $data);
   {
      my $t = logger->timer ("compress");
      ...
   }
   logger->data->{ratio} = $ratio;

=head1 DESCRIPTION

Inside a worker, while a request is being handled (including the C<setup>
that runs just before the first one), C<logger> returns a
L<Log::Defer>-compatible object that belongs to that request. It is
created on first use; everything logged into it travels back to the client
with the reply (in the C<ld> field of the reply's metadata), and a client
checkout created with C<log_defer_object> merges it into its own log
object, so that one log holds the whole story of a request across
processes. If C<logger> is not called, nothing extra is sent.

Outside a request (in the server, in C<checkout_done>, or in any other
program) C<logger> returns a process-wide object whose contents go nowhere.

Loading this module loads the C<Log::Defer> package (an installed copy if
there is one, otherwise the distribution's own), so C<< Log::Defer->new >>
works after C<use AnyEvent::Task::Logger> alone.

=over

=item logger ()

Exported by default. Returns the current deferred log object.

=item $AnyEvent::Task::Logger::log_defer_object

The current object. The worker sets it to C<undef> for the duration of each
request and restores it afterwards.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

None known.

=cut
