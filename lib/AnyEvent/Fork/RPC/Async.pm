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

=head1 CONCEPTS

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

=head1 EXAMPLES

=head2 A worker that runs commands and answers when each is done

   # an asynchronous worker that runs commands and answers when each is done
   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $rpc = AnyEvent::Fork
      ->new
      ->require ("AnyEvent::Util")
      ->eval (q{
           sub run_command {
              my ($done, @cmd) = @_;
              my $out = "";
              AnyEvent::Util::run_cmd (\@cmd, ">" => \$out)->cb (sub {
                 my $status = shift->recv;
                 $done->($status >> 8, $out);
              });
           }
        })
      ->AnyEvent::Fork::RPC::run ("run_command", async => 1);

   my $cv = AE::cv;
   for my $cmd (["sh", "-c", "sleep 0.2; echo slow"], ["echo", "fast"]) {
      $cv->begin;
      $rpc->(@$cmd, sub {
         my ($status, $out) = @_;
         print "status $status: $out";
         $cv->end;
      });
   }
   $cv->recv;

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

=head1 TYPICAL PROBLEMS

=over

=item Blocking in the function

Every request of the worker shares one event loop: a function that
blocks (C<sleep>, a blocking read, C<< $cv->recv >>) stops them all.
Start the work and return; call the done-callback from a watcher.

=item Forgetting the done-callback, or calling it twice

A request whose done-callback is never called stays outstanding: the
worker never exits, and C<on_destroy> never comes. Calling it twice sends
a second response, which the parent reports as C<unexpected data from
child>, and that RPC object is dead.

=item Leaving with C<exit>

Events and responses are written by the event loop. Call
C<AnyEvent::Fork::RPC::flush ()> before C<exit>, or they may be lost.

=item The event loop of the worker

The worker uses the event loop AnyEvent chooses in it (EV when
installed). With a template that never ran an event loop (the default
C<new_exec> template, or Early) the loop is created in the worker itself.
A template that is a copy of a program whose loop already existed
(L<AnyEvent::Fork::Template> used late) hands that loop's state to every
worker: make such templates before the loop exists.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

Reading and parsing requests and queueing responses and events is done by
the C core, in one call per readiness. The worker flushes STDOUT before it
closes the connection, so the parent never sees its output after
C<on_destroy>.

=head1 SEE ALSO

L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::RPC::Sync>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::RPC::Async by
Marc Lehmann, whose interface and protocol this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

package AnyEvent::Fork::RPC::Async;

use AnyEvent ();
use AnyEvent::Fork::RPC::Sync (); # the prologue both backends share, and the core

our $VERSION = 2;

# declared here, defined once run has started (so init cannot send events)
sub AnyEvent::Fork::RPC::event;
sub AnyEvent::Fork::RPC::flush;

sub do_exit { exit }

sub run {
   goto &AnyEvent::Fork::RPC::PurePerl::async_run unless $AnyEvent::Fork::RPC::Sync::CORE;

   my ($rfh, $wfh, $kv) = &AnyEvent::Fork::RPC::Sync::_prologue;

   my $done = $kv->{done} || "AnyEvent::Fork::RPC::Async::do_exit";
   $done = do { package main; \&$done };

   my ($f, $t) = eval $kv->{serialiser}; AE::log fatal => $@ if $@;

   # the C core reads, dispatches and writes from its own watchers
   AnyEvent::Fork::RPC::Core::async_start (
      $rfh, $wfh, $kv->{rlen}, $kv->{function}, $kv->{serialiser}, $f, $t,
      $done, sub { AE::log fatal => $_[0] },
   );

   *AnyEvent::Fork::RPC::event = \&AnyEvent::Fork::RPC::Core::async_event;
   *AnyEvent::Fork::RPC::flush = \&AnyEvent::Fork::RPC::Core::async_flush;

   $AnyEvent::MODEL eq "AnyEvent::Impl::EV"
      ? EV::run ()
      : AE::cv->recv;
}

1
