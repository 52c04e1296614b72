package AnyEvent::Task::Server::Worker;

use strict;
use warnings;

our $VERSION = '0.805';

use POSIX ();
use Scalar::Util ();
use JSON::XS ();
use AnyEvent::Util ();
use AnyEvent::Fork::Core ();
use AnyEvent::Task::Logger ();

my $json = JSON::XS->new->utf8;
# a reply without log data is ["KIND",{},VALUE]: put together around the
# value's own encoding (the same bytes, without building the array)
my $value_json = JSON::XS->new->utf8->allow_nonref;

# fork for a connection; the child gives up the descriptors @release (the
# listening socket) without freeing their numbers
sub _fork {
   my (@release) = @_;
   my $pid = fork;
   _release (@release) if defined $pid && !$pid;
   $pid
}

# The forker (a copy of the server that never returns to its event loop):
# the loop in C receives each connection with its number, forks its
# worker, closes the forker's copy, and so on; the kernel reaps the
# workers. Returns only in a worker, which gives up the hand-over socket
# and serves its connection. The forker leaves when the server is gone
# (end-of-file) or the socket fails.
sub forker {
   my ($server, $hand) = @_;

   _warm_up ();
   my ($fd, $n) = _forker_next ($hand);
   _exit_now (0) unless defined $fd;
   $0 = "AET-Worker:$server->{name}($n)" if defined $server->{name};
   # the connection stays a bare descriptor: no perl handle is needed
   # (the worker leaves through _exit)
   handle_worker ($server, $fd);
}

# Run the request loop once in the forker, on a socket pair, with code of
# our own: the code paths every worker takes (the loop, the JSON codecs,
# the libraries' lazily bound symbols, perl's pads) are then set up in the
# memory workers share, and each worker copies fewer pages on its way.
sub _warm_up {
   my ($mine, $theirs) = AnyEvent::Util::portable_socketpair or return;
   syswrite $mine, '["do",{},0]["dn",{}]';
   shutdown $mine, 1;
   my $nop = sub { $_[0] };
   eval { _loop ({ interface => $nop, setup => $nop, checkout_done => $nop, hung_worker_timeout => 0 }, $theirs) };
}

# Never returns: the worker leaves through _exit (1) (in C, as
# POSIX::_exit, but with no symbol bound lazily in the child), so that no
# destructor or END block inherited from the server runs.
sub handle_worker {
   my ($server, $fh) = @_;

   eval { _loop ($server, $fh) };
   _exit_now (1);
}

sub _loop {
   my ($server, $fh) = @_;

   my $hung = $server->{hung_worker_timeout};
   $hung = $hung ? int $hung : 0;
   my $loop = AnyEvent::Task::Server::Worker::Loop->new ($fh, $hung > 0 ? $hung : 0)
      or return;

   my $iface = $server->{interface};
   my $setup = $server->{setup};
   my $done = $server->{checkout_done};
   my $setup_done;

   while (defined (my $bytes = $loop->next)) {
      my $msg = eval { $json->decode ($bytes) };
      return unless ref $msg eq 'ARRAY' && defined $msg->[0] && !ref $msg->[0];
      my $cmd = shift @$msg;
      shift @$msg;

      if ($cmd eq 'dn') {
         $done->();
         next;
      }
      return unless $cmd eq 'do';

      my ($kind, $val, $ld);
      {
         local $AnyEvent::Task::Logger::log_defer_object;
         my $in_setup;
         $val = eval {
            if (!$setup_done) {
               $in_setup = 1;
               $setup->();
               $setup_done = 1;
               $in_setup = 0;
            }
            my $sub = ref $iface eq 'HASH' ? $iface->{shift @$msg} : $iface;
            scalar $sub->(@$msg)
         };
         if (my $err = $@) {
            $kind = 'er';
            $val = $in_setup ? "setup exception: $err"
                 : Scalar::Util::blessed ($err) ? "$err"
                 : $err;
         } elsif (Scalar::Util::blessed ($val)) {
            ($kind, $val) = ('er', "interface returned object: " . ref ($val) . "=($val)");
         } else {
            $kind = 'ok';
         }
         $ld = $AnyEvent::Task::Logger::log_defer_object;
      }

      my $out = eval { $ld ? $json->encode ([$kind, { ld => $ld->{msg} }, $val]) : "[\"$kind\",{}," . $value_json->encode ($val) . "]" };
      if (!defined $out) {
         my $err = $@;
         $out = eval { $json->encode (['er', { $ld ? (ld => $ld->{msg}) : () }, "error JSON encoding interface output: $err"]) };
         return unless defined $out;
      }
      return unless $loop->write ($out);
      undef $ld;
   }
}

1

__END__

=head1 NAME

AnyEvent::Task::Server::Worker - the request loop of an AnyEvent::Task worker (internal)

=head1 DESCRIPTION

A worker is a process forked for one client connection (by the server's
forker, see L<AnyEvent::Task::Server>). It runs
no event loop: it blocks on its connection, reads the client's messages
(JSON arrays written back to back), and answers each C<do> message by
calling the server's C<interface> and writing back one C<ok> or C<er>
message; a C<dn> message (the client let its checkout go) runs
C<checkout_done> and gets no answer. The C<setup> code runs lazily, inside
the first C<do> request; if it dies, the request is answered with C<setup
exception: ERROR> and the next request tries again.

Reading, splitting the stream into messages and the hung-worker alarm are
done in C: before each read (at most 4096 bytes) the alarm is armed for
C<hung_worker_timeout> whole seconds, and it covers the handling of every
message of that read. When it fires the worker prints C<Killing hung worker
(PID)> to its standard error and exits. Waiting for the next request is
never timed, so idle workers live on.

The worker always ends with C<_exit(1)> (as C<POSIX::_exit(1)>): at end-of-file, on a read
or write error, on a message that is not a well-formed C<do> or C<dn>
array, when C<checkout_done> dies, or when a reply cannot be encoded even
as an error. No destructor inherited from the server runs.

=over

=item handle_worker ($server, $fh)

Runs the loop on the connection C<$fh> (a handle or a descriptor number).
Never returns.

=item forker ($server, $hand)

The forker's life (see L<AnyEvent::Task::Server/PROCESSES AND
DESCRIPTORS>): it runs the request loop once on a socket pair of its own
with its own no-op code, then, in C, keeps a spare worker forked ahead of
demand, receives each connection and its number on C<$hand>, hands it to
the spare (or forks a worker for it when none is ready), closes its copy,
forks the next spare, and waits for the next connection; the kernel reaps
the workers. It returns only in a worker, which has given up C<$hand> (in
C) and now takes its name and enters C<handle_worker>. The forker exits
with C<_exit(0)> when C<$hand> reaches end-of-file (the server let it go
or is gone) or fails, and so does a spare that its forker lets go.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

The original also watched a "monitor" socket shared with the server, only
to stop watching it when the server went away; this worker simply keeps
serving its client when the server exits, without that extra descriptor.

=cut
