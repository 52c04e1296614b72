package AnyEvent::Task::Server;

use strict;
use warnings;

our $VERSION = '0.805';

use AnyEvent ();
use AnyEvent::Socket ();
use AnyEvent::Util ();
use Scalar::Util ();
use AnyEvent::Task::Util ();
use AnyEvent::Task::Server::Worker ();

# Seconds a forker serves before the next connection replaces it with a
# fresh copy of the server (so workers see what the server changed since).
our $FORKER_AGE = 1;

# the original documented the keep-alive array under this name
*children_sockets = \@AnyEvent::Task::Util::children_sockets;

sub new {
   my ($class, %arg) = @_;
   my $self = bless {}, $class;

   $self->{name} = $arg{name};
   $self->{setup} = $arg{setup} || sub {};
   $self->{checkout_done} = $arg{checkout_done} || sub {};
   $self->{hung_worker_timeout} = exists $arg{hung_worker_timeout} ? $arg{hung_worker_timeout} : 300;
   $0 = "AET-Server:$self->{name}" if defined $self->{name};

   my $listen = $arg{listen} or die "unspecified listen path";

   # the interface is checked before the socket exists, so that a bad one
   # leaves an existing socket file alone
   die "unspecified interface" unless exists $arg{interface};
   my $iface = $arg{interface};
   die "interface must be a sub or a hash"
      unless ref $iface eq 'CODE' || ref $iface eq 'HASH';
   $self->{interface} = $iface;

   $self->{conns} = 0;
   $self->{children} = {};

   my $weak = $self;
   Scalar::Util::weaken ($weak);
   $self->{listener} = AnyEvent::Socket::tcp_server ($listen->[0], $listen->[1], sub {
      $weak->handle_new_connection ($_[0]) if $weak;
   }, sub {
      # the listening socket: each worker gives up its copy at fork
      $weak->{listen_fh} = $_[0];
      Scalar::Util::weaken ($weak->{listen_fh});
      1024
   });

   $self
}

sub run {
   AE::cv->recv;
   die "AnyEvent::Task::Server->run should never return";
}

sub handle_new_connection {
   my ($self, $fh) = @_;

   my $n = ++$self->{conns};

   # a forker's copy of the server is at most $FORKER_AGE seconds old
   $self->_stop_forker
      if $self->{hand} && AE::now - $self->{forker_born} >= $FORKER_AGE;

   # the forker forks the worker; one that is gone is replaced once
   for (1, 2) {
      last unless $self->{hand} || $self->_start_forker ($fh);
      if (AnyEvent::Task::Server::Worker::_hand_send ($self->{hand}, $fh, $n)) {
         close $fh;
         return;
      }
      $self->_stop_forker;
   }

   print STDERR "fork failed: $!\n";
   close $fh;
}

# Fork the forker: a copy of the server, taken now, that forks one worker
# for each connection handed to it and does nothing else (see Worker.pm).
# It leaves when its end of the pair sees end-of-file: the server is gone.
sub _start_forker {
   my ($self, $conn) = @_;

   my ($mine, $theirs) = AnyEvent::Util::portable_socketpair or return;

   my $pid = AnyEvent::Task::Server::Worker::_fork (
      grep defined, $self->{listen_fh}, $mine, $conn);
   return unless defined $pid;

   if (!$pid) {
      $0 = "AET-Forker:$self->{name}" if defined $self->{name};
      AnyEvent::Task::Server::Worker::forker ($self, $theirs);
   }

   # reaped when it exits, retired or not
   my $weak = $self;
   Scalar::Util::weaken ($weak);
   my $children = $self->{children};
   $children->{$pid} = AE::child $pid, sub {
      delete $children->{$pid};
      $weak->_stop_forker if $weak && $weak->{forker_pid} && $weak->{forker_pid} == $pid;
   };
   @$self{qw(hand forker_pid forker_born)} = ($mine, $pid, AE::now);
   1
}

# Let the forker go: it forks what it was handed, sees end-of-file, exits.
sub _stop_forker {
   my ($self) = @_;
   delete @$self{qw(hand forker_pid forker_born)};
}

sub fork_task_server {
   my %arg = @_;
   AnyEvent::Task::Util::fork_anyevent_subprocess (sub {
      AnyEvent::Task::Server->new (%arg)->run;
   });
}

1

__END__

=head1 NAME

AnyEvent::Task::Server - fork a synchronous worker process for each client connection

=head1 SYNOPSIS

   use AnyEvent::Task::Server;

   # in a program of its own, after setting things up:
   AnyEvent::Task::Server->new (
      name => 'imgresize',
      listen => ['unix/', '/var/run/imgresize.socket'],
      setup => sub { $converter = Image::Tool->new },
      interface => {
         resize => sub { my ($path, $w, $h) = @_; $converter->resize ($path, $w, $h) },
      },
      checkout_done => sub { $converter->reset },
   )->run;

   # or, at the top of an AnyEvent program, before any watcher exists:
   AnyEvent::Task::Server::fork_task_server (
      listen => ['unix/', '/tmp/my.socket'],
      interface => sub { join ",", @_ },
   );

=head1 DESCRIPTION

A server listens on a unix-domain socket or a TCP port and, for every
connection a L<AnyEvent::Task::Client> opens, forks one B<worker> process
that serves that connection for its whole life. Workers run without an
event loop: they read one request, run your code synchronously, write the
answer, and wait for the next. Blocking there is fine - that is what they
are for.

Each worker starts from a copy of the server's memory. The server itself
never runs C<setup>, C<interface> or C<checkout_done>, so every worker's
C<setup> sees the pristine state. Workers are not forked by the server
itself but by its B<forker>, a copy of the server made for that purpose
(see L</PROCESSES AND DESCRIPTORS>): a worker sees the server's memory as
it stood at most about a second before its connection came.

=head1 CONSTRUCTOR

=over

=item AnyEvent::Task::Server->new (%options)

=over

=item listen => [$host, $service] (required)

Passed to L<AnyEvent::Socket/tcp_server>: C<['unix/', $path]> for a
unix-domain socket (an existing file at C<$path> is replaced; the path is
removed again when the server object goes away, if it is still the
server's socket), or C<['127.0.0.1', 5000]> etc. for TCP. Dies with
C<unspecified listen path> when missing; bind failures die with AnyEvent's
text (C<tcp_bind: ...>).

=item interface => $coderef or \%methods (required)

What a request runs. A code reference is called with the request's
arguments. With a hash, the first argument names the method and the rest
are passed to it; an unknown name fails the request with perl's C<Can't use
an undefined value as a subroutine reference>. The interface is always
called in scalar context. Its return value (C<undef>, a string, a number,
an array or hash reference) is the result. A blessed result is refused
(C<interface returned object: CLASS=(STRING)>), and one that JSON cannot
represent fails with C<error JSON encoding interface output: ...>.

An exception fails the request: a string or a blessed object (stringified)
becomes the client's error text, an unblessed reference arrives as data.
Dies with C<unspecified interface> when missing and C<interface must be a
sub or a hash> for anything else.

=item setup => $coderef

Runs in the worker right before its first request (not at fork time). If
it dies, that request fails with C<setup exception: ERROR> and the next
request of the same worker runs it again.

=item checkout_done => $coderef

Runs in the worker each time a client releases the checkout that used it
(even one that made no call). If it dies, the worker exits; the client
replaces it.

=item hung_worker_timeout => $seconds (default 300)

A worker that spends longer than this on one request (counted from the read
that brought it in) prints C<Killing hung worker (PID)> to its standard
error and exits; the client sees C<worker connection suddenly died>. Whole
seconds: fractions are truncated, and a false value (or one below 1)
disables it. Waiting for requests is never timed.

=item name => $string

Sets C<$0> to C<AET-Server:NAME> at once, and each worker's to
C<AET-Worker:NAME(N)> (N counts accepted connections from 1).

=back

Unknown options are ignored. Nothing is forked yet: the forker is forked
when the first connection arrives, and workers as connections arrive.

=back

=head1 METHODS AND FUNCTIONS

=over

=item $server->run

Runs the event loop forever.

=item AnyEvent::Task::Server::fork_task_server (%options)

Forks a process that runs C<< AnyEvent::Task::Server->new (%options)->run >>
and stays connected to the caller by a socket pair. Call it before the
program creates any AnyEvent watcher (otherwise it dies with C<No AnyEvent
watchers should be created prior to forking (AE model: MODEL)>).

The server gives up every descriptor it inherited from the caller (except
standard input, output and error), so the caller's files, pipes and
sockets are not kept open by it or its workers. It exits (normally, so the
socket path is removed) as soon as its end of the socket pair becomes
readable - when the caller closes its end or exits. If the constructor
dies (bad options, address in use), the server process prints the error
and exits non-zero; the caller's program goes on.

In list context it returns C<($fh, $pid)>: close C<$fh> to stop the
server. Otherwise the handle is kept in
C<@AnyEvent::Task::Util::children_sockets> (also reachable as
C<@AnyEvent::Task::Server::children_sockets>), and the server lives as long
as the caller.

=back

=head1 PROCESSES AND DESCRIPTORS

When the first connection arrives, the server forks a B<forker>: a copy of
itself, as it stands at that moment, that leaves the event loop for good
and does only one thing: fork a worker for each connection the server
hands it (with the connection's number, over a socket pair). Forking is
the costly part of a fresh worker, and a process that does nothing between
two forks forks faster than a server running its event loop: every page
a process writes after a fork is copied once more. Before its first fork
the forker runs the worker's request loop once on a socket pair of its own,
with code of its own (never C<setup>, C<interface> or C<checkout_done>),
so that what every worker would set up on its way (the JSON codecs, the
loop, lazily bound library symbols) is already in the memory workers
share.

The forker also forks ahead of demand: it keeps a B<spare> worker
ready, a child forked before any connection needs it and blocked on a
socket pair of its own. An accepted connection is handed to the spare,
and the forker forks the next spare while that one serves (on two cores
the fork overlaps with the client's use of the worker). A spare runs none
of your code before its connection comes: it takes its name
(C<AET-Worker:NAME(N)>, N from the connection, so names still follow the
order of acceptance), runs C<setup> lazily before its first request, and
starts the hung-worker alarm with that request, exactly as a worker forked
for the connection would; until then it still bears the forker's name. A
connection that comes while no spare is ready (several at once, or after a
failed fork) gets a worker forked for it at once, and the forker keeps one
spare more from then on, at most four; each second without a connection
while several spares wait lets one go, down to one. A spare is one more
process per server, idle, sharing the forker's memory.

A forker serves for about a second (C<$AnyEvent::Task::Server::FORKER_AGE>,
default 1): the first connection after that gets a fresh forker, copied
from the server as it stands then, so changes the server process makes to
its memory (a signal handler that reloads the configuration, for example)
reach the workers forked from then on. The forker that retires forks what
it was already handed and exits; its spares leave with it, unused.

The server closes its copy of each connection once it has handed it over,
and the forker closes its copy once it has forked the worker, so a
connection is open only in the client and its own worker, and a worker
that dies is noticed by its client at once. The forker and the workers
give up their copy of the listening socket, so the port or path goes with
the server and a restarted server can bind the same TCP port while old
workers still serve their clients; workers and the forker leave through
C<_exit> (as C<POSIX::_exit> does), so no inherited destructor removes the server's socket
path. The kernel reaps the forker's workers and spares (the forker sets
C<SA_NOCLDWAIT>; each worker gets the server's C<SIGCHLD> handling back as
it takes its connection), and the server reaps its forkers. A forker exits
when the server is gone (it sees end-of-file), so killing the server takes
the forker with it, and a spare exits when its forker is gone or lets it
go, so none is left behind; a forker that dies is replaced at the next
connection. If C<fork> fails, in the server (forking the forker) or in the
forker for a connection, C<fork failed: ERROR> is printed to the standard
error, that connection is closed (the client retries) and serving goes on;
a spare that cannot be forked is not retried before a connection finds
none.

When the server exits, workers keep serving their connections; a client
keeps using them and connects new ones to a restarted server.

=head1 DIFFERENCES FROM THE ORIGINAL

=over

=item * a failed fork no longer turns the server into a worker;

=item * workers are reaped, and no descriptor is left per worker in the
server (the original kept a "monitor" socket per worker, which this
implementation does without);

=item * workers do not hold the listening socket;

=item * the forked server releases inherited descriptors without closing
them behind perl's back, and a constructor error in it no longer runs the
caller's code in the child;

=item * C<interface> is checked before the socket is created, so a bad one
leaves an existing socket file alone;

=item * workers are forked by the forker, a copy of the server at most
about a second old, not by the server at the moment of the connection:
a change the server process makes to its own memory reaches workers
forked up to a second later, where the original's next worker saw it at
once. Workers are the forker's children, not the server's (C<getppid>).

=item * a worker is usually forked before its connection comes (a spare,
see L</PROCESSES AND DESCRIPTORS>): a server that has served a connection
has one or more idle processes besides itself, the forker and the spare.
What a worker runs, and when (its name, C<setup>, the hung-worker alarm),
is as before.

=back

=cut
