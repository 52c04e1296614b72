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

It is installed in the architecture-specific library directory, beside its
shared object, while the other modules go to the architecture-independent
one. Its presence in C<%INC> tells that this distribution, not the
original, is in use:

   perl -MAnyEvent::Fork -e 'print $INC{"AnyEvent/Fork/Core.pm"} ? "core\n" : "original\n"'

=head1 CONCEPTS

The core replaces what the originals took from CPAN: L<IO::FDPass>
(descriptor passing), L<Proc::FastSpawn> (spawning), L<Guard> and
L<Array::Heap>. Its rules: every descriptor it creates is close-on-exec
from birth; a received message whose control data was truncated is an
error, and surplus descriptors in it are closed; buffers grow with the data
actually received, never with what a peer announces; the bytes it reads
and writes are exactly the originals'. The packages
C<AnyEvent::Fork::RPC::Core> and C<AnyEvent::Fork::Pool::Core> hold the
RPC data path and the pool's heap; they are internal and not described
here.

=head1 EXAMPLES

=head2 Passing a descriptor

   use strict;
   use warnings;
   use AnyEvent::Fork::Core ();

   # a socketpair, and a pipe's write end passed across it (in one process,
   # to show the calls; normally the two ends live in different processes)
   my ($a, $b) = AnyEvent::Fork::Core::socketpair
      or die "socketpair: $!";
   open my $sa, "+<&=", $a or die "fdopen: $!";
   open my $sb, "+<&=", $b or die "fdopen: $!";

   pipe my $r, my $w or die "pipe: $!";
   AnyEvent::Fork::Core::fd_send ($sa, $w) or die "fd_send: $!";
   my $fd = AnyEvent::Fork::Core::fd_recv ($sb);
   die "fd_recv: $!" if $fd < 0;

   open my $copy, ">&=", $fd or die "fdopen: $!";
   syswrite $copy, "through a passed descriptor\n";
   close $copy;
   close $w;
   print scalar <$r>;

=head1 FUNCTIONS

Functions report failures like perl's builtins: a false value or an empty
list, with C<$!> set. They croak only on arguments that are not what they
expect (for example a closed file handle).

=over

=item ($fd0, $fd1) = socketpair

An AF_UNIX stream socketpair, both descriptors close-on-exec.

=item $ok = set_nonblock ($fh_or_fd, $on), $ok = set_cloexec ($fh_or_fd, $on)

Set or clear C<O_NONBLOCK> or C<FD_CLOEXEC>.

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

=item $pid = spawn ($path, \@argv, \@env, $keep_fd[, $as_stdio])

Starts a program with C<vfork> and C<execve>. C<$keep_fd> loses its
close-on-exec flag in the new process so that it is inherited; every other
descriptor keeps its own flag. With C<$as_stdio> true, C<$keep_fd> becomes
the program's standard input and output instead (descriptors 0 and 1; 2 is
inherited), as AnyEvent::Fork::Remote needs it. Signal handlers are reset
to the default in the new process (ignored signals stay ignored) and the
caller's signal mask is restored. Returns the pid, or -1 with C<$!> set to
the error of the failed C<exec> (reported through a close-on-exec pipe; the
failed process is reaped).

=back

=head1 TYPICAL PROBLEMS

The functions take descriptors or handles; a closed handle croaks. They
are not a public interface: use L<AnyEvent::Fork> instead.

=head1 DIFFERENCES FROM THE ORIGINAL

The originals have no such module; see L</CONCEPTS> for what it replaces.

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::Pool>; the
contracts of the C functions are described in the distribution's
F<c/aef.h>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

our $VERSION = '0.01';

require XSLoader;
XSLoader::load ("AnyEvent::Fork::Core", $VERSION);

1
