=head1 NAME

AnyEvent::Fork::RPC - simple RPC extension for AnyEvent::Fork

=head1 SYNOPSIS

   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $rpc = AnyEvent::Fork
      ->new
      ->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run",
           on_event   => sub { warn "event: @_\n" },
           on_error   => sub { warn "worker failed: @_\n" },
           on_destroy => my $done = AE::cv,
        );

   $rpc->(1, 2, 3, sub { print "MyWorker::run returned @_\n" });

   undef $rpc;    # no more requests: the worker finishes and exits
   $done->recv;   # ... and on_destroy tells us

   # MyWorker.pm, in the worker process
   package MyWorker;

   sub run {
      my (@args) = @_;
      AnyEvent::Fork::RPC::event (progress => 50);
      reverse @args
   }

   # the same with the asynchronous backend
   my $rpc = AnyEvent::Fork->new->require ("MyAsyncWorker")
      ->AnyEvent::Fork::RPC::run ("MyAsyncWorker::run", async => 1);

   package MyAsyncWorker;
   use AnyEvent;

   sub run {
      my ($done, @args) = @_;
      my $w; $w = AE::timer 1, 0, sub { undef $w; $done->(reverse @args) };
   }

=head1 DESCRIPTION

This is a drop-in replacement for Marc Lehmann's AnyEvent::Fork::RPC 2.0
whose data path - framing, buffering and parsing in both processes, and the
whole request loop of synchronous workers - runs in the distribution's C
core (L<AnyEvent::Fork::Core>). Programs written for RPC 2.0, 1.24 or 1.21
run unchanged; the bytes on the socket are the original's, so a parent of
either kind can drive a worker of the other.

C<run> takes over an L<AnyEvent::Fork> object (or any object with the same
methods, see L</FORK OBJECTS>), makes the process it controls call one
function for every request, and returns a code reference that sends the
requests. Results come back through callbacks, in the event loop, in the
order the worker produces them. The worker can also send I<events> to the
parent at any time.

Two backends run in the worker: L<AnyEvent::Fork::RPC::Sync> (the default)
calls the function for one request after the other; with C<< async => 1 >>,
L<AnyEvent::Fork::RPC::Async> runs an AnyEvent loop in the worker and the
function returns its results through a callback whenever it likes, so
requests can overlap.

Loading this module loads L<AnyEvent> and the C core, but not
L<AnyEvent::Fork>.

=head1 PARENT PROCESS USAGE

=over

=item $rpc = AnyEvent::Fork::RPC::run ($fork, $function, %options)

=item $rpc = $fork->AnyEvent::Fork::RPC::run ($function, %options)

Loads the backend in the process behind C<$fork>, sends it the
function name and the options it needs, and hands the process over to the
backend (C<< $fork->run >>). C<$function> is the name of the function to
call for each request, resolved in package C<main> of the worker (so
C<MyWorker::run> or C<run> for C<main::run>); a missing function is only
noticed by the first request.

The fork object belongs to RPC afterwards; do not use it any more.

Returns the RPC object, a code reference:

=over

=item $rpc->(@args, $cb->(@results))

Queues a request: C<@args> are serialised (see L</SERIALISERS>) and sent
to the worker, which calls the function with them; C<$cb> (anything
callable, a condvar for example) receives what it returned: the list the
function returned (Sync) or the arguments of its done-callback (Async).

Requests are queued at once and written by the event loop. Results and
events arrive in the order the worker produced them. The RPC object may be
called (and dropped) before the connection to the worker exists.

Croaks when the serialiser dies, or with C<AnyEvent::Fork::RPC: request
too large (N octets, at most 4294967295)> when the serialised request does
not fit the 32-bit frame length; nothing is queued then.

=back

Dropping the last reference to C<$rpc> shuts the connection down: once
everything queued is written, the parent half-closes the socket; the
worker answers every request it has received and exits; then the parent
calls C<on_destroy>. The machinery lives on until then, without C<$rpc>.

The options:

=over

=item on_error => $cb->($message)

Called on fatal conditions; after a transport error (the first four below)
nothing more is delivered for this RPC object:

   unexpected eof              the worker exited with requests outstanding
   read: $!                    e.g. "read: Connection reset by peer"
   $!                          a write error, e.g. "Broken pipe"
   unexpected data from child  a response no request is waiting for
   connection failed           the fork object could not connect (nothing
                               was started; on_destroy never follows)
   event received, but no on_event handler

The default, when C<on_event> is given, calls C<< on_event->(error =>
$message) >>; otherwise it logs C<AnyEvent::Fork::RPC: uncaught error:
$message.> with L<AnyEvent::Log> at level C<die> (error) in context
C<AnyEvent::Fork::RPC>, and the program goes on.

=item on_event => $cb->(@args)

Called for every event the worker sends with
C<AnyEvent::Fork::RPC::event>. The default reports
C<event received, but no on_event handler> to C<on_error>.

=item on_destroy => $cb->()

Called once, when the worker closes the connection while no request is
outstanding: normally after C<$rpc> was dropped, also when the worker
exits on its own while idle. May be undef.

=item init => $function

The name of a function (resolved in package C<main>) the worker calls once,
before anything else, with the values sent to the fork object with
C<send_arg> / C<send_fh> before C<run>. C<AnyEvent::Fork::RPC::event> does
not work yet while it runs.

=item async => $boolean

Selects the backend: L<AnyEvent::Fork::RPC::Async> when true, else
L<AnyEvent::Fork::RPC::Sync>.

=item done => $function

Async only: the function (resolved in package C<main>) the worker jumps to
once it is finished, instead of the default
C<AnyEvent::Fork::RPC::Async::do_exit>, which exits. The synchronous
backend ignores it.

=item serialiser => $string

Perl source that evaluates to a freeze and a thaw function (see
L</SERIALISERS>). It is evaluated in the parent at once (C<run> dies with
C<$@> if that fails, before anything is sent) and in the worker. Default
(also for any false value): C<$AnyEvent::Fork::RPC::STRING_SERIALISER>.

=item buflen => $octets

=item buflen_req => $octets

=item buflen_res => $octets

The initial read-buffer sizes of both sides (C<buflen>, default 496), of
the worker (C<buflen_req>) and of the parent (C<buflen_res>). Buffers grow
as frames need it - a large frame is received into a buffer of its own
size in one step - so these only ever need tuning for memory.

=back

Exceptions thrown by callbacks (results, C<on_event>, C<on_error>,
C<on_destroy>) are not caught: they leave the event loop's callback, where
EV reports and ignores them and AnyEvent's pure-Perl loop passes them to
whoever waits. The RPC object stays consistent: the frames after the one
whose callback died are delivered at the next readiness.

=back

=head1 CHILD PROCESS USAGE

The worker's function is called with the request's values (Sync: in list
context, its return values are the result) or with a done-callback
followed by the values (Async: call C<< $done->(@results) >> exactly
once, whenever the result is ready). These functions exist in the worker
once the backend runs:

=over

=item AnyEvent::Fork::RPC::event (@args)

Sends an event to the parent's C<on_event>. Sync: written at once. Async:
queued behind earlier responses and events, written by the event loop.

=item $ok = AnyEvent::Fork::RPC::flush ()

Sync: always 1 (everything is written already). Async: writes everything
queued now, waiting for the socket if need be; 1 on success, 0 on a write
error. Useful before exiting on purpose.

=back

The backends are described in L<AnyEvent::Fork::RPC::Sync> and
L<AnyEvent::Fork::RPC::Async>: when the worker exits, its process name,
what it does with STDIN/STDOUT.

=head1 SERIALISERS

A serialiser is a string of Perl source that returns two code references:
one that turns a list of values into an octet string, and one that turns
such a string back into the list. The same string is evaluated in both
processes. These are provided:

=over

=item $AnyEvent::Fork::RPC::STRING_SERIALISER

The default: octet strings only (undef becomes the empty string,
references and numbers their string form), as perl's
C<pack "(w/a*)*"> / C<unpack>. This one is implemented in C (values that
need perl to stringify them, like tied or overloaded ones, and malformed
data go through perl's own pack and unpack, so the results are the same).
Character strings with code points above 255 cannot be sent: the call
croaks.

=item $AnyEvent::Fork::RPC::CBOR_XS_SERIALISER

L<CBOR::XS> with value sharing, of an array of the values: most data
structures, fast. Needs CBOR::XS in both processes.

=item $AnyEvent::Fork::RPC::JSON_SERIALISER

L<JSON> (UTF-8) of an array of the values: anything JSON can represent.

=item $AnyEvent::Fork::RPC::STORABLE_SERIALISER

=item $AnyEvent::Fork::RPC::NSTORABLE_SERIALISER

L<Storable> C<freeze> / C<nfreeze> (network order) of an array of the
values: almost any perl data.

=back

=head1 FORK OBJECTS

RPC only calls methods on the fork object: C<eval> (or C<require> when the
object has no C<eval> method), C<send_arg> and C<run>; it never looks
inside. So objects that are not L<AnyEvent::Fork> work as well, AnyEvent::Fork::Remote's for example. When C<run> calls
back without a file handle, RPC calls C<on_error> with
C<connection failed> and nothing else happens.

The backend is loaded with C<< ->eval ("use AnyEvent::Fork::RPC::Sync 2
()") >> (or C<::Async>), which checks the RPC protocol version, or with
C<< ->require >> when there is no C<eval>.

=head1 DIFFERENCES FROM THE ORIGINAL

None that programs see, except timing and these:

=over

=item * A synchronous worker writes the responses to requests that
arrived together in one go, as long as each call takes less than 50
microseconds and the first waiting response is less than 250 microseconds
old; events, slow calls, C<exit> and C<die> in the function write
everything before them. (The original writes each response on its own; a
worker killed by a signal a moment after such fast calls may now take
their responses with it.)

=item * A request that does not fit a frame croaks at the call instead of
corrupting the stream.

=item * The worker flushes STDOUT before it closes its end of the socket,
so everything it printed has arrived when C<on_destroy> runs.

=item * A request made after the event loop has called into the RPC
object (for example from a result callback) is written at once, from
within the call, rather than in the next loop iteration; further requests
made before the loop comes back are written together by the loop. A write
error is still reported from the loop.

=back

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::Pool>, L<AnyEvent::Fork::RPC::Sync>,
L<AnyEvent::Fork::RPC::Async>, L<AnyEvent>.

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

=cut

package AnyEvent::Fork::RPC;

# what the original's common::sense gave the serialiser code evaluated here
use strict qw(vars subs);
no warnings;

use AnyEvent ();
use AnyEvent::Fork::Core ();

our $VERSION = '2.0';

our $STRING_SERIALISER    = AnyEvent::Fork::RPC::Core::string_serialiser ();
our $CBOR_XS_SERIALISER   = 'use CBOR::XS (); (sub { CBOR::XS::encode_cbor_sharing \@_ }, sub { @{ CBOR::XS::decode_cbor shift } })';
our $JSON_SERIALISER      = 'use JSON (); (sub { JSON::encode_json \@_ }, sub { @{ JSON::decode_json shift } })';
our $STORABLE_SERIALISER  = 'use Storable (); (sub { Storable::freeze \@_ }, sub { @{ Storable::thaw shift } })';
our $NSTORABLE_SERIALISER = 'use Storable (); (sub { Storable::nfreeze \@_ }, sub { @{ Storable::thaw shift } })';

sub run {
   my ($self, $function, %arg) = @_;

   my $serialiser = delete $arg{serialiser} || $STRING_SERIALISER;
   my $on_event   = delete $arg{on_event};
   my $on_error   = delete $arg{on_error};
   my $on_destroy = delete $arg{on_destroy};

   # default for on_error is to on_event, if specified
   $on_error ||= $on_event
               ? sub { $on_event->(error => shift) }
               : sub { AE::log die => "AnyEvent::Fork::RPC: uncaught error: $_[0]." };

   # default for on_event is to raise an error
   $on_event ||= sub { $on_error->("event received, but no on_event handler") };

   my ($f, $t) = eval $serialiser; die $@ if $@;

   my $module = "AnyEvent::Fork::RPC::" . ($arg{async} ? "Async" : "Sync");

   my $core = AnyEvent::Fork::RPC::Core->new (
      !!$arg{async}, $arg{buflen_res} || $arg{buflen} || 512 - 16,
      $f, $t, $serialiser eq AnyEvent::Fork::RPC::Core::string_serialiser (),
      $on_event, $on_error, $on_destroy,
   );

   if ($self->can ("eval")) {
      $self->eval ("use $module 2 ()");
   } else {
      $self->require ($module);
   }

   $self
      ->send_arg (
           function   => $function,
           init       => $arg{init},
           serialiser => $serialiser,
           done       => $arg{done} || "$module\::do_exit",
           rlen       => $arg{buflen_req} || $arg{buflen} || 512 - 16,
           -10
        )
      ->run ("$module\::run", sub {
           $_[0]
              ? $core->connect ($_[0])
              : $on_error->("connection failed");
        });

   $core->rpc
}

1
