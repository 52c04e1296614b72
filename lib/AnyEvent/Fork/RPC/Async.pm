=head1 NAME

AnyEvent::Fork::RPC::Async - asynchronous backend of AnyEvent::Fork::RPC

=head1 SYNOPSIS

   # in the parent
   my $rpc = AnyEvent::Fork->new->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run", async => 1);

   # in the worker
   package MyWorker;
   use AnyEvent;

   sub run {
      my ($done, @args) = @_;                     # done-callback first
      AnyEvent::Fork::RPC::event (started => 1);  # optional
      my $w; $w = AE::timer 0.5, 0, sub {
         undef $w;
         $done->(@results);                       # the response
      };
   }

=head1 DESCRIPTION

The worker side of L<AnyEvent::Fork::RPC> with an AnyEvent loop: for every
request the function is called with a done-callback followed by the
request's values, and returns at once; whatever it later passes to the
done-callback is the response. Any number of requests may be in progress;
responses go out in the order the done-callbacks are called, each carrying
its request's id. Reading and parsing requests and queueing responses and
events is done by the C core; the writing is done by an AnyEvent write
watcher.

The worker runs C<EV::run> when AnyEvent uses EV, else it waits on a
condvar that is never sent. Waiting for a condvar inside a request (a
recursive loop) is not supported.

The prologue is the one of L<AnyEvent::Fork::RPC::Sync> (handshake,
STDIN/STDOUT rule, process name, C<init>); a serialiser that does not
evaluate is logged with C<AE::log fatal> (the worker exits with status 1).

When the parent closes its side, the worker stops reading; once every
done-callback has been called and everything is written, it flushes perl's
STDOUT buffer, half-closes the socket and calls the C<done> function (by
default C<AnyEvent::Fork::RPC::Async::do_exit>, which exits) with an empty
C<@_>.

A read error (other than end-of-file) is fatal:
C<AnyEvent::Fork::RPC: read error in child: $!>; so is a write error:
C<AnyEvent::Fork::RPC: write error ($!), parent gone?>. Calling a
done-callback twice sends two responses; the parent then reports
C<unexpected data from child>.

=head1 FUNCTIONS

=over

=item AnyEvent::Fork::RPC::event (@args)

Queues an event for the parent, behind the responses and events queued
before; the event loop writes it.

=item $ok = AnyEvent::Fork::RPC::flush ()

Writes everything queued now, waiting for the socket when it is full. 1 on
success, 0 on a write error. Use it before leaving with C<exit>.

=item AnyEvent::Fork::RPC::Async::run ($socket, @args, %handshake, -N)

The backend's entry point, called by the worker's command loop. Not
called directly.

=item AnyEvent::Fork::RPC::Async::do_exit ()

Exits (status 0).

=item $AnyEvent::Fork::RPC::Async::VERSION

2: the RPC protocol version.

=back

=head1 SEE ALSO

L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::RPC::Sync>.

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

=cut

package AnyEvent::Fork::RPC::Async;

use AnyEvent ();
use AnyEvent::Fork::Core ();
use AnyEvent::Fork::RPC::Sync (); # the prologue both backends share

our $VERSION = 2;

# declared here, defined once run has started (so init cannot send events)
sub AnyEvent::Fork::RPC::event;
sub AnyEvent::Fork::RPC::flush;

sub do_exit { exit }

sub run {
   my ($rfh, $wfh, $kv) = &AnyEvent::Fork::RPC::Sync::_prologue;

   my $done = $kv->{done} || "AnyEvent::Fork::RPC::Async::do_exit";
   $done = do { package main; \&$done };

   my ($f, $t) = eval $kv->{serialiser}; AE::log fatal => $@ if $@;

   my ($rw, $ww);

   my $wcb = sub {
      my $left = AnyEvent::Fork::RPC::Core::async_write ();

      if ($left < 0) {
         AE::log fatal => "AnyEvent::Fork::RPC: write error ($!), parent gone?";
      } elsif (!$left) {
         undef $ww;

         unless (AnyEvent::Fork::RPC::Core::async_busy ()) {
            # the parent may be done once it sees end-of-file: our output first
            AnyEvent::Fork::RPC::Core::flush_stdout ();
            shutdown $wfh, 1;
            @_ = ();
            goto &$done;
         }
      }
   };

   AnyEvent::Fork::RPC::Core::async_setup (
      fileno $rfh, fileno $wfh, $kv->{rlen}, $kv->{function},
      $kv->{serialiser} eq AnyEvent::Fork::RPC::Core::string_serialiser (), $f, $t,
      sub { $ww ||= AE::io $wfh, 1, $wcb },
   );

   *AnyEvent::Fork::RPC::event = \&AnyEvent::Fork::RPC::Core::async_event;
   *AnyEvent::Fork::RPC::flush = \&AnyEvent::Fork::RPC::Core::async_flush;

   $rw = AE::io $rfh, 0, sub {
      my $r = AnyEvent::Fork::RPC::Core::async_read ();

      if (!$r) { # end-of-file: finish once every request is answered
         undef $rw;
         AnyEvent::Fork::RPC::Core::async_busy (-1);
         AnyEvent::Fork::RPC::Core::async_arm ();
      } elsif ($r < 0) {
         AE::log fatal => "AnyEvent::Fork::RPC: read error in child: $!";
      }
   };

   $AnyEvent::MODEL eq "AnyEvent::Impl::EV"
      ? EV::run ()
      : AE::cv->recv;
}

1
