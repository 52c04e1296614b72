package AnyEvent::Fork::Core;

=head1 NAME

AnyEvent::Fork::Core - the C core behind AnyEvent::Fork, ::RPC and ::Pool

=head1 SYNOPSIS

   use AnyEvent::Fork::Core ();
   my ($fd0, $fd1) = AnyEvent::Fork::Core::socketpair
      or die "socketpair: $!";

=head1 DESCRIPTION

This module loads the compiled part of the distribution: a portable C core
(descriptor passing, spawning, the wire codecs, the RPC data path and the
pool's heap) with a thin XS layer. It is an implementation detail of
L<AnyEvent::Fork>, L<AnyEvent::Fork::RPC> and L<AnyEvent::Fork::Pool>; its
functions may change between releases. It loads nothing else, so that
template processes stay small.

Functions report failures like perl's builtins: a false value or an empty
list, with C<$!> set. They croak only on arguments that are not what they
expect (for example a closed file handle).

=over

=item ($fd0, $fd1) = socketpair

An AF_UNIX stream socketpair, both descriptors close-on-exec.

=item $ok = set_nonblock ($fh_or_fd, $on), $ok = set_cloexec ($fh_or_fd, $on)

=item $ok = fd_send ($sock, $fh_or_fd)

Sends one descriptor as one data byte C<"\0"> plus C<SCM_RIGHTS>, exactly
like L<IO::FDPass>. False with C<$!> set (C<EAGAIN> included) on failure.

=item $fd = fd_recv ($sock)

Receives one descriptor (close-on-exec); -1 with C<$!> set on failure.

=item ($letter, $payload) = serve_next ($sock[, $have_h])

The Serve loop's reader: reaps exited children, then reads exactly one
command frame. An C<h> command comes back as C<("h", $fd)> with the
received descriptor (-1 and C<$!> on failure). An C<h> directly followed by
C<f> (what C<fork> sends) is carried out here: the process forks, the child
takes the received socket as its command socket, and both go on reading;
C<("F")> with C<$!> reports a failed fork, C<("!")> a command longer than
the core accepts (256 MiB: a corrupted stream). An empty list means
end-of-file (C<$!> is 0) or an error. With C<$have_h> true, the caller has
already read an C<h> command itself.

=item $pid = spawn ($path, \@argv, \@env, $keep_fd)

Starts a program with only C<$keep_fd> inherited; -1 with C<$!> set when it
could not be executed.

=back

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

=cut

our $VERSION = '0.01';

require XSLoader;
XSLoader::load ("AnyEvent::Fork::Core", $VERSION);

1
