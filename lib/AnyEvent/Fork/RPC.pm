=head1 NAME

AnyEvent::Fork::RPC - simple RPC extension for AnyEvent::Fork

=head1 SYNOPSIS

   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run",
           on_event   => sub { warn "event: @_\n" },
           on_error   => sub { warn "worker failed: @_\n" },
           on_destroy => $done,
        );

   $rpc->(1, 2, 3, sub { print "MyWorker::run returned @_\n" });

   undef $rpc;    # no more requests: the worker finishes and exits
   $done->recv;   # ... and on_destroy tells us

   # MyWorker.pm, loaded in the worker process
   package MyWorker;

   sub run {
      my (@args) = @_;
      AnyEvent::Fork::RPC::event (progress => 50);
      reverse @args                    # the response
   }

   # the same with the asynchronous backend
   my $rpc = AnyEvent::Fork->new->require ("MyAsyncWorker")
      ->AnyEvent::Fork::RPC::run ("MyAsyncWorker::run", async => 1);

   package MyAsyncWorker;
   use AnyEvent;

   sub run {
      my ($done, @args) = @_;          # a done-callback comes first
      my $w; $w = AE::timer 1, 0, sub { undef $w; $done->(reverse @args) };
   }

=head1 DESCRIPTION

Many jobs are best done in another process: CPU-heavy work that would
stall the event loop, blocking libraries, code that may crash or leak.
This module turns a process made with L<AnyEvent::Fork> into such a
worker: you name a function in it, and get a code reference that calls
that function there, with the results delivered to a callback in your
event loop. The worker can also send I<events> (progress reports, log
lines, partial results) at any time.

This is a drop-in replacement for Marc Lehmann's AnyEvent::Fork::RPC 2.0
whose data path - framing, buffering and parsing in both processes, and the
whole request loop of synchronous workers - runs in the distribution's C
core (L<AnyEvent::Fork::Core>). Programs written for RPC 2.0, 1.24 or 1.21
run unchanged; the bytes on the socket are the original's, so a parent of
either kind can drive a worker of the other.

Loading this module loads L<AnyEvent> and the C core, but not
L<AnyEvent::Fork> (RPC works over any object with the right methods, see
L</FORK OBJECTS>): load that yourself.

=head1 CONCEPTS

=head2 Parent, worker, requests and events

C<run> takes over a fork object: it makes the process load a I<backend>
(the code that serves requests in the worker), sends it the function's
name and the options the worker needs, and hands the process over to the
backend with the fork object's own C<run>. It returns the I<RPC object>, a
plain code reference:

   $rpc->(@args, $cb);

queues a request. The arguments are serialised, sent to the worker, and
passed to the function there; what the function returns comes back to
C<$cb>. Requests are written by the event loop, so the call returns at
once, and you may call the RPC object before the worker even exists.

The worker can call C<AnyEvent::Fork::RPC::event (@values)> at any time;
the values arrive at the parent's C<on_event> callback. Results and events
arrive in exactly the order the worker sent them.

=head2 Choosing a backend: synchronous or asynchronous

=over

=item L<AnyEvent::Fork::RPC::Sync> (the default)

The worker has no event loop. It calls the function for one request after
the other; the function's return values (list context) are the response.
The function may block as long as it likes: requests queue up in the
socket meanwhile. This is the right choice for CPU-bound work and for
blocking libraries, and it is the fastest and smallest backend: its whole
loop runs in C, and it does not load AnyEvent.

=item L<AnyEvent::Fork::RPC::Async> (C<< async => 1 >>)

The worker runs an AnyEvent loop. The function gets a done-callback as its
first argument, starts the work and returns at once; whenever the work is
finished, it calls the done-callback with the results. Many requests can
be in progress at the same time, and responses go out in the order they
are finished. Choose it when the worker itself waits for I/O (network
clients, timers, other processes) and should serve several requests
meanwhile. It costs AnyEvent's memory in the worker, and a function must
never block.

=back

For a few parallel CPU-bound jobs use several synchronous workers, or
L<AnyEvent::Fork::Pool>, which starts and feeds them for you.

=head2 Life and death of a worker

A worker lives until you drop the last reference to the RPC object. Then
the parent finishes writing what is queued and closes its half of the
socket; the worker answers every request it has received, flushes its
STDOUT and exits; the parent sees the end of the connection and calls
C<on_destroy>. No request is lost by dropping the RPC object early, and
the RPC machinery in the parent stays alive on its own until that end.

When the worker goes away while requests are outstanding (it died,
called C<exit>, was killed), the parent reports C<unexpected eof> to
C<on_error>, and the callbacks of the outstanding requests are never
called.

=head2 Serialisation

Arguments and results travel as octet strings made by a I<serialiser>.
The default one only handles lists of plain strings and numbers, and it
is fast. To send data structures choose another (see L</SERIALISERS>);
both processes evaluate the same serialiser code.

=head2 What travels over the socket

C<run> first sends three commands through the fork object: load the
backend (C<use AnyEvent::Fork::RPC::Sync 2 ()>, which also checks that the
worker's backend speaks protocol version 2), one C<send_arg> with the
key/value pairs C<function>, C<init>, C<serialiser>, C<done> and C<rlen>
followed by their negated count (C<-10>), and C<run> of the backend's
C<run> function. From then on the socket carries RPC frames, every integer
32-bit big-endian:

   parent -> Sync worker    length, payload
   parent -> Async worker   request id, length, payload
   worker -> parent         id, length, payload

The payload is the serialiser's output. A frame from the worker with id 0
is an event; any other is a response. Asynchronous request ids count up
from 1, wrap around without ever being 0, and skip ids still waiting for
their response; the worker echoes them. The synchronous backend answers in
order and always sends id 1. These are the original's bytes, so a parent of
either implementation works with a worker of the other, and a parent or
worker written in another language can take part.

=head1 EXAMPLES

=head2 A synchronous worker that reports progress

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
           sub count_primes {
              my ($limit) = @_;
              my $n = 0;
              for my $i (2 .. $limit) {
                 AnyEvent::Fork::RPC::event (progress => $i)
                    unless $i % 25_000;
                 $n++ unless grep $i % $_ == 0, 2 .. sqrt $i;
              }
              $n # the result
           }
        })
      ->AnyEvent::Fork::RPC::run ("count_primes",
           on_event   => sub { my ($what, $at) = @_; print "$what: $at\n" },
           on_error   => sub { die "worker failed: $_[0]\n" },
           on_destroy => $done,
        );

   for my $limit (50_000, 100_000) {
      $rpc->($limit, sub { print "primes up to $limit: $_[0]\n" });
   }

   undef $rpc;   # no more requests: the worker answers both, then exits
   $done->recv;  # on_destroy: everything has been answered

=head2 An asynchronous worker with overlapping requests

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $rpc = AnyEvent::Fork
      ->new
      ->require ("AnyEvent")
      ->eval (q{
           my %timer;
           sub delayed_echo {
              my ($done, $delay, $text) = @_;
              AnyEvent::Fork::RPC::event (started => $text);
              $timer{$text} = AE::timer $delay, 0, sub {
                 delete $timer{$text};
                 $done->("$text after ${delay}s");
              };
           }
        })
      ->AnyEvent::Fork::RPC::run ("delayed_echo",
           async    => 1,
           on_event => sub { print "event: @_\n" },
        );

   my $all = AE::cv;
   for ([0.3, "slow"], [0.1, "fast"], [0.2, "medium"]) {
      $all->begin;
      $rpc->(@$_, sub { print "result: @_\n"; $all->end });
   }
   $all->recv; # fast, medium, slow: in the order the worker finished them

=head2 Data structures, C<init>, and a condvar as the callback

The values sent with C<send_arg> (or handles sent with C<send_fh>) before
C<run> go to the C<init> function; JSON carries the array and the hash.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $rpc = AnyEvent::Fork
      ->new
      ->require ("List::Util")
      ->eval (q{
           my $scale;
           sub setup { ($scale) = @_ }            # init: the send_arg values
           sub stats {
              my ($numbers) = @_;                 # an array reference
              return {
                 n   => scalar @$numbers,
                 sum => $scale * List::Util::sum (@$numbers),
                 max => $scale * List::Util::max (@$numbers),
              };
           }
        })
      ->send_arg (10)
      ->AnyEvent::Fork::RPC::run ("stats",
           init       => "setup",
           serialiser => $AnyEvent::Fork::RPC::JSON_SERIALISER,
        );

   $rpc->([3, 1, 4, 1, 5, 9, 2, 6], my $cv = AE::cv);
   my ($r) = $cv->recv; # the condvar receives what the function returned
   print join (", ", map "$_=$r->{$_}", sort keys %$r), "\n";

=head2 A worker that ends itself

An event sent just before C<exit> might still sit in the worker's buffer
(asynchronous backend): C<flush> writes it first. The unanswered request
is then reported as C<unexpected eof>.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   my $cv = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
           sub last_words {
              AnyEvent::Fork::RPC::event ("goodbye");
              AnyEvent::Fork::RPC::flush ();   # make sure the event is out
              exit 1;                          # the request is never answered
           }
        })
      ->AnyEvent::Fork::RPC::run ("last_words",
           on_event => sub { print "event: @_\n" },
           on_error => sub { print "error: @_\n"; $cv->send },
        );

   $rpc->(sub { print "never called\n" });
   $cv->recv;

=head2 Several workers from one template

Without L<AnyEvent::Fork::Pool>, by hand: three workers forked from a
template that loaded the code once, fed in turn.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   # the template loads the code once; every worker is a cheap fork of it
   my $template = AnyEvent::Fork
      ->new
      ->require ("Digest::MD5")
      ->eval (q{ sub md5 { Digest::MD5::md5_hex ($_[0]) } });

   my $gone = AE::cv;
   my @worker = map {
      $gone->begin;
      $template->fork->AnyEvent::Fork::RPC::run ("md5", on_destroy => sub { $gone->end })
   } 1 .. 3;
   undef $template; # the workers have what they need

   my $all = AE::cv;
   for my $i (0 .. 8) {
      $all->begin;
      $worker[$i % @worker]->("text $i", sub { print "text $i: $_[0]\n"; $all->end });
   }
   $all->recv;

   @worker = ();   # every worker finishes and exits
   $gone->recv;    # ... and each has called on_destroy
   print "all workers gone\n";

The distribution's F<examples/rpc.pl> is another complete program.

=head1 PARENT PROCESS USAGE

=over

=item $rpc = AnyEvent::Fork::RPC::run ($fork, $function, %options)

=item $rpc = $fork->AnyEvent::Fork::RPC::run ($function, %options)

Loads the backend in the process behind C<$fork>, sends it the
function name and the options it needs, and hands the process over to the
backend (C<< $fork->run >>). C<$function> is the name of the function to
call for each request, resolved in package C<main> of the worker (so
C<MyWorker::run>, or C<run> for C<main::run>); a missing function is only
noticed by the first request, which kills the worker (C<unexpected eof>
in the parent).

Values sent to C<$fork> with C<send_arg> and C<send_fh> before this call
are passed to the C<init> function. The fork object belongs to RPC
afterwards; do not use it any more.

Dies with the serialiser's error when the serialiser code does not
evaluate, before anything is sent.

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
exits on its own while idle. May be undef (the default: nothing is
called).

=item init => $function

The name of a function (resolved in package C<main>) the worker calls once,
before anything else, with the values sent to the fork object with
C<send_arg> / C<send_fh> before C<run>. C<AnyEvent::Fork::RPC::event> does
not work yet while it runs. Default: none.

=item async => $boolean

Selects the backend: L<AnyEvent::Fork::RPC::Async> when true, else
L<AnyEvent::Fork::RPC::Sync> (the default).

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
the worker (C<buflen_req>, default C<buflen>) and of the parent
(C<buflen_res>, default C<buflen>). Buffers grow with the octets received
(never with the length a frame announces), so these only ever need tuning
for memory.

=back

Exceptions thrown by callbacks (results, C<on_event>, C<on_error>,
C<on_destroy>) are not caught: they leave the event loop's callback, where
EV reports and ignores them and AnyEvent's pure-Perl loop passes them to
whoever waits. The RPC object stays consistent: the frame whose callback
died is consumed, and the frames received after it are delivered at the
event loop's next turn (from a zero timer), even when the worker sends
nothing more. Each exception leaves the loop once; frames after a second
callback that dies wait for the turn after that, and so on.

=back

=head2 Error messages

The texts passed to C<on_error> are listed under C<on_error> above. In the
worker, a synchronous worker dies with C<AnyEvent::Fork::RPC::Sync: write
error ($!), parent gone?> when the parent has gone; an asynchronous worker
logs C<AnyEvent::Fork::RPC: write error ($!), parent gone?> or
C<AnyEvent::Fork::RPC: read error in child: $!> as fatal and exits with
status 1. A backend older than protocol version 2 makes the worker print
perl's C<AnyEvent::Fork::RPC::Sync version 2 required--this is only
version ...> and exit.

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
Not available in the C<init> function.

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
processes, so the modules it uses must be installed where both run. These
are provided:

=over

=item $AnyEvent::Fork::RPC::STRING_SERIALISER

The default: octet strings only (undef becomes the empty string,
references and numbers their string form), as perl's
C<pack "(w/a*)*"> / C<unpack>. This one is implemented in C (values that
need perl to stringify them, like tied or overloaded ones, and malformed
data go through perl's own pack and unpack, so the results are the same).
Character strings with code points above 255 cannot be sent: the call
croaks (encode them first). The fastest by far, and it loads nothing.

=item $AnyEvent::Fork::RPC::CBOR_XS_SERIALISER

L<CBOR::XS> with value sharing, of an array of the values: most data
structures (references shared or cyclic included), fast and compact.
Needs CBOR::XS in both processes.

=item $AnyEvent::Fork::RPC::JSON_SERIALISER

L<JSON> (UTF-8) of an array of the values: anything JSON can represent
(no blessed objects, no shared references; character strings survive).
Needs L<JSON> (which uses L<JSON::XS> when installed) in both processes.

=item $AnyEvent::Fork::RPC::STORABLE_SERIALISER

=item $AnyEvent::Fork::RPC::NSTORABLE_SERIALISER

L<Storable> C<freeze> / C<nfreeze> (network order) of an array of the
values: almost any perl data, objects included, at a higher cost per
call. Storable comes with perl; C<NSTORABLE> also works between perls of
different byte order or build.

=back

A serialiser of your own is any such string, for example canonical
(sorted) JSON with L<JSON::XS>:

   serialiser => 'use JSON::XS (); my $j = JSON::XS->new->utf8->canonical;
                  (sub { $j->encode (\@_) }, sub { @{ $j->decode (shift) } })',

=head1 FORK OBJECTS

RPC only calls methods on the fork object: C<eval> (or C<require> when the
object has no C<eval> method), C<send_arg> and C<run>; it never looks
inside. So objects that are not L<AnyEvent::Fork> work as well,
AnyEvent::Fork::Remote's for example. When C<run> calls back without a
file handle, RPC calls C<on_error> with C<connection failed> and nothing
else happens.

The backend is loaded with C<< ->eval ("use AnyEvent::Fork::RPC::Sync 2
()") >> (or C<::Async>), which checks the RPC protocol version, or with
C<< ->require >> when there is no C<eval>.

=head1 TYPICAL PROBLEMS

=over

=item The program exits before the results arrive

The RPC object only queues requests: run the event loop until the
callbacks have run (a condvar, or C<on_destroy> after dropping the RPC
object, as in the examples).

=item C<unexpected eof>, or C<read: Connection reset by peer>

The worker went away with requests outstanding: the function (or
C<init>) died - its message is on the worker's STDERR, which is yours -,
called C<exit>, or the worker was killed. When the worker exits with
requests still unread in its socket, the system resets the connection,
and the parent reports C<read: Connection reset by peer> instead. A
function name that does not exist in the worker ends the same way at the
first request. Catch errors in the function and return them as values
when the caller should see them.

=item A callback died

An exception in one of your callbacks leaves the event loop's callback:
EV prints it as C<EV: error in callback (ignoring): ...> and goes on, the
pure-Perl loop throws it out of the C<recv> (or other wait) that ran the
loop. Results and events that arrived together with the frame whose
callback died are delivered at the loop's next turn, so with the
pure-Perl loop wait again (for example C<< eval { $cv->recv } >> in a loop)
to get them. Better: do not let callbacks die; catch what they might
throw.

=item Events from C<init>

C<AnyEvent::Fork::RPC::event> does not exist yet while C<init> runs;
calling it there dies and ends the worker.

=item A blocking asynchronous worker

An asynchronous worker serves all its requests from one event loop. A
function that blocks (C<sleep>, a blocking read, C<< $cv->recv >>) stops
them all; waiting for a condvar inside a request is not supported.

=item Wide characters

The default serialiser sends octets. Encode character strings
(C<Encode::encode_utf8>) or use the JSON or CBOR serialiser.

=item The worker's output comes after C<on_destroy>

It does not here: both backends flush the worker's STDOUT before they
close the connection. Output the worker writes by other means (other
handles, child processes) is not covered.

=item Destructors and C<END> blocks in workers

A worker is a process forked from a template (see L<AnyEvent::Fork/TYPICAL
PROBLEMS>): when the template is a copy of your main program (Early,
Template), the worker runs your program's C<END> blocks when it exits.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

Programs see the interface, defaults, error texts and bytes on the socket
of AnyEvent::Fork::RPC 2.0. What differs:

=over

=item * A callback that dies leaves the RPC object consistent: the frame
it was given is consumed, the frames after it are delivered at the loop's
next turn without waiting for the worker to write again, and the exception
reaches the event loop only after the C frames have been left.

=item * A synchronous worker writes the responses to requests that
arrived together in one go, as long as each call takes less than 50
microseconds and the first waiting response is less than 250 microseconds
old; events, slow calls, C<exit> and C<die> in the function write
everything before them. (The original writes each response on its own; a
worker killed by a signal a moment after such fast calls may now take
their responses with it.)

=item * A request that does not fit a frame croaks at the call instead of
corrupting the stream; so does a request with wide characters under the
default serialiser (the original died inside the write watcher).

=item * The worker flushes STDOUT before it closes its end of the socket,
so everything it printed has arrived when C<on_destroy> runs. (With the
original, a parent printing after C<on_destroy> could see the worker's
output after its own.)

=item * When requests are written. A request made outside the RPC
objects' callbacks is written at once, from within the call, rather than
in the next loop iteration; further requests made before the loop comes
back are written together by the loop. Under L<EV>, requests made from a
result or event callback (a pool handing its workers their next jobs) wait
until the loop is about to block, then each worker's leave in one write:
one wake-up of the worker for a batch instead of one per request. That
moment comes also when a callback runs the loop itself (C<EV::run>). Under
other loops, which offer no such moment, they are written at once. The
jobs that one scheduling pass of L<AnyEvent::Fork::Pool> gives a worker
(outside those callbacks) leave in one write at the end of the pass. A
write error is always reported from the loop.

=item * A synchronous worker waits for requests in C<poll>, not in a
blocking C<read> (which the kernel wakes for nothing whenever the parent
reads the worker's answers), and when requests arrive while fast answers
still wait to be written, it handles those first and writes all the
answers together.

=item * No L<Guard> and no L<common::sense> are loaded.

=item * Speed: the parent parses and dispatches every complete frame of a
read in one call into the C core; the synchronous worker's whole loop
(read, parse, call, write) runs in C; the default serialiser has a C
implementation producing the same bytes. With it, a request or result of
4 MiB or more that is a single string is read straight into that
string's own buffer (no copy), and a worker reuses the buffer of such a
request for the next one once nothing refers to the string any more (one
buffer at most, released after a round of small requests).
F<bench/rpc.pl> measures round trips, queued calls, bulk echo and worker
memory beside the machine's own limits.

=back

=head2 Queued closures

Perl keeps every anonymous closure on a list of its package (so that the
package can let go of it when the package itself is freed), and takes it
off that list again when the closure is freed. Removing an entry is quick
only for the first and the last one; any other is found by a scan. A
program that queues many calls, each with a fresh callback
(C<< $rpc->($x, sub { ... }) >>), frees those callbacks in the order it made
them, so every removal scans past all the closures made after it: with
100,000 calls waiting, perl spends most of its time there.

So while a fresh callback waits in the queue, it is taken off that list
(it was just made, so it is still the list's last entry) and its package
pointer is cleared; just before it is called, or dropped unanswered, it is
entered again at the end of the list, from which it is then removed
quickly when it is freed. Only closures that nobody else can see are
treated this way: an anonymous closure written in the statement that
makes the call (C<< $rpc->(@args, sub { ... }) >>), which nothing but that
statement's temporaries refer to. A callback you keep in a variable, one
that arrives through a loop variable or a wrapper sub's C<@_>, a named
sub, a condvar or an object is left alone (and costs what it costs in
perl). When the callback runs,
everything about it is as before: C<caller>, L<Sub::Util/subname>,
C<SUPER::> inside it, L<B::Deparse>, the debugger (which looks at the
package of code called from XS) and the moment the objects it captured
are destroyed.

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::Pool>, L<AnyEvent::Fork::RPC::Sync>,
L<AnyEvent::Fork::RPC::Async>, L<AnyEvent>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers. The interface, its behaviour and the
wire protocol are those of AnyEvent::Fork::RPC by Marc Lehmann, whose
design this distribution reimplements; it shares no code with it.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

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
      $serialiser, $f, $t, $on_event, $on_error, $on_destroy,
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
