package AnyEvent::Task;

our $VERSION = '0.805';

1

__END__

=head1 NAME

AnyEvent::Task - client/server pools of synchronous worker processes for AnyEvent programs

=head1 SYNOPSIS

Server:

   use AnyEvent::Task::Server;

   my $dbh;

   AnyEvent::Task::Server::fork_task_server (
      listen => ['unix/', '/tmp/anyevent-task.socket'],
      setup => sub {
         $dbh = DBI->connect (...);   # once per worker, before its first request
      },
      interface => {
         add => sub { $_[0] + $_[1] },
         user => sub { $dbh->selectrow_hashref ("SELECT * FROM users WHERE id=?", undef, $_[0]) },
      },
   );

Client:

   use AnyEvent::Task::Client;
   use Callback::Frame;

   my $client = AnyEvent::Task::Client->new (
      connect => ['unix/', '/tmp/anyevent-task.socket'],
   );

   my $checkout = $client->checkout (timeout => 5);

   frame_try {
      $checkout->add (2, 3, sub {
         my ($checkout, $sum) = @_;
         print "2 + 3 = $sum\n";
      });
   } frame_catch {
      print "the worker failed: $@";
   };

   AE::cv->recv;

=head1 DESCRIPTION

Some work does not fit an event loop: blocking libraries (database
drivers, resolvers, image tools), CPU-heavy code, code that must not share
a process with other requests. AnyEvent::Task puts that work into a pool
of ordinary synchronous Perl processes - B<workers> - and lets an AnyEvent
program use them without blocking.

The B<server> (L<AnyEvent::Task::Server>) listens on a unix socket or TCP
port and forks one worker per accepted connection. A worker runs your
C<interface> code synchronously, one request at a time; it may block as
long as it likes. Each worker calls your C<setup> lazily, right before its
first request, so expensive connections are opened in the worker that uses
them, never in the server.

The B<client> (L<AnyEvent::Task::Client>) lives in the event-driven
program. It keeps a pool of connections (each one is one worker) and hands
them out as B<checkouts> (L<AnyEvent::Task::Client::Checkout>): an
exclusive lease on one worker. Calls on a checkout are queued, sent in
order and answered in order; several may be outstanding (pipelining). When
the last reference to the checkout goes, the worker returns to the pool
(after running your C<checkout_done>), ready for the next checkout. A
database transaction, for example, fits one checkout: the worker's
connection state belongs to you until you let go.

Errors travel back too. An exception in the worker, a worker that dies, a
timeout: each one is raised inside the callback that was waiting, so
L<Callback::Frame> handlers (C<frame_try>/C<frame_catch>) installed around
the call receive it, with a stack trace that follows the callbacks rather
than the event loop. After an error the checkout's unsent calls are
dropped; by default the worker is replaced rather than reused.

The server and the client talk a simple protocol: JSON arrays written back
to back over a stream socket. Clients on other machines can use a TCP
server with exactly the same code.

=head1 CONCEPTS

=over

=item Workers are fresh processes

Each worker is a fork of the server as it stood before any setup ran. State
a worker builds up (connections, caches) lives and dies with that worker.
Anything that must survive belongs in a database, not in a worker.

=item Checkouts keep order and state

Everything you do on one checkout goes to the same worker, in order. Use one
checkout per unit of work that needs shared state (a transaction) and let
it go as soon as the work is done, so the worker serves someone else.

=item Timeouts

Every checkout has a timeout (30 seconds unless you choose otherwise). It
covers the wait for a worker and the request in flight. When it fires, the
worker is killed (its connection is closed), the error C<timed out after N
seconds> goes to the waiting callback, and later calls on that checkout fail
with the same error. Independently, the server kills a worker that spends
more than C<hung_worker_timeout> seconds (300 by default) on one request.

=item Logging across processes

Give a checkout a L<Log::Defer> object (C<log_defer_object>) and use
L<AnyEvent::Task::Logger>'s C<logger> in the worker: what the worker logs
and times is merged into your object with each reply.

=back

=head1 EXAMPLES

=head2 A server, a client, a result and an error

   use strict;
   use warnings;
   use AnyEvent::Task::Server;
   use AnyEvent::Task::Client;
   use Callback::Frame;
   use File::Temp ();

   my $dir = File::Temp->newdir;

   # before any watcher exists
   AnyEvent::Task::Server::fork_task_server (
      listen => ['unix/', "$dir/socket"],
      setup => sub { $main::factor = 10 },   # in each worker, lazily
      interface => {
         scale => sub { $_[0] * $main::factor },
         fail  => sub { die "no such record\n" },
      },
   );

   my $client = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/socket"]);
   my $done = AE::cv;

   my $checkout = $client->checkout (timeout => 10);
   frame_try {
      $checkout->scale (4, sub {
         my ($checkout, $result) = @_;
         print "4 scaled: $result\n";        # 40
         $checkout->fail (sub { print "not reached\n" });
      });
   } frame_catch {
      print "the worker said: $@";          # no such record
      $done->send;
   };

   $done->recv;

=head2 A transaction: state that lives in one worker for one checkout

   use strict;
   use warnings;
   use AnyEvent::Task::Server;
   use AnyEvent::Task::Client;
   use File::Temp ();

   my $dir = File::Temp->newdir;
   my @items;   # per worker

   AnyEvent::Task::Server::fork_task_server (
      listen => ['unix/', "$dir/socket"],
      interface => {
         add   => sub { push @items, $_[0]; scalar @items },
         total => sub { my $t = 0; $t += $_ for @items; $t },
      },
      checkout_done => sub { @items = () },   # the next checkout starts clean
   );

   my $client = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/socket"], max_workers => 1);
   my $done = AE::cv;

   my $co = $client->checkout;
   $co->add (5, sub {});
   $co->add (7, sub {});                      # sent at once: pipelined
   $co->total (sub {
      print "total in this checkout: $_[1]\n";   # 12
      undef $co;                                   # release: checkout_done runs
      $client->checkout->total (sub {
         print "a new checkout starts from: $_[1]\n";   # 0
         $done->send;
      });
   });

   $done->recv;

=head1 TYPICAL PROBLEMS

=over

=item "No AnyEvent watchers should be created prior to forking"

C<fork_task_server> must run before the program creates any watcher
(timer, condvar wait, I/O): call it at the top of the program.

=item A checkout that never finishes

A checkout is released when the last reference to it goes. A checkout kept
in a long-lived variable keeps its worker busy; undef it when done.

=item Errors seem to disappear, or kill the program

Without a C<frame_catch> around the call, an error is raised in the event
loop: EV prints it and continues, the pure-Perl loop lets it escape from
C<recv>. Install handlers where you make calls.

=item Workers and the event loop

Worker code runs without an event loop and must not use AnyEvent. Do not
use C<sleep> or C<alarm> in worker code: the hung-worker timeout uses
C<SIGALRM>.

=back

=head1 THIS IMPLEMENTATION

This distribution re-implements AnyEvent::Task 0.805 on a small C core:
the worker's read loop, the splitting of the JSON stream, the hung-worker
alarm, the worker fork and the descriptor clean-up are C; the protocol is
unchanged, so its clients and servers work with the original's. It also
carries compatible copies of Callback::Frame and Log::Defer, used only
where those are not installed (see L<AnyEvent::Task::Companion>).

=head1 DIFFERENCES FROM THE ORIGINAL

Each module's documentation lists its own. In short: workers are reaped
and do not hold the listening socket or other clients' connections; a
failed fork in the server no longer stops the service; an idle worker's
death, a timeout or a client destroyed while connecting no longer raise
stray exceptions in the event loop, and a timeout frees its worker slot
for the next waiting checkout at once; a later call on a checkout that
timed out fails at once; a call whose last argument is not a code
reference dies at once.

=head1 SEE ALSO

L<AnyEvent::Task::Server>, L<AnyEvent::Task::Client>,
L<AnyEvent::Task::Client::Checkout>, L<AnyEvent::Task::Logger>,
L<AnyEvent::Task::Util>, L<Callback::Frame>, L<Log::Defer>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers. The interface, its behaviour and the
wire protocol are those of AnyEvent::Task by Doug Hoyte (who also wrote
Callback::Frame and Log::Defer), whose design this distribution
reimplements; it shares no code with it.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
