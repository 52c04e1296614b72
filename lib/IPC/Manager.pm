package IPC::Manager;

use strict;
use warnings;

use Carp qw(croak);
use Scalar::Util qw(blessed);
use IPC::Manager::Util qw(require_mod);
use IPC::Manager::Spawn ();
use IPC::Manager::Service::State ();

our $VERSION = '0.000038';

use Exporter ();
our @ISA       = qw(Exporter);
our @EXPORT_OK = qw(
   ipcm ipcm_service ipcm_worker ipcm_spawn ipcm_connect ipcm_reconnect
   ipcm_default_protocol ipcm_default_protocol_list ipcm_default_serializer
);

*ipcm_service = \&IPC::Manager::Service::State::ipcm_service;
*ipcm_worker  = \&IPC::Manager::Service::State::ipcm_worker;

sub ipcm() { 'IPC::Manager' }

my $PROTOCOL;
my @PROTOCOLS = qw(UnixSocket ConnectionUnix MessageFiles);
my $SERIALIZER = 'JSON';
my $SER_DEFAULT;  # what $SERIALIZER resolved to
my %SER_CACHE;

sub _proto_class {
   my ($name) = @_;
   return $name if $name =~ s/^\+//;
   return $name if $name =~ /^IPC::Manager::Client::/;
   return "IPC::Manager::Client::$name";
}

sub _ser_class {
   my ($name) = @_;
   return $name if $name =~ s/^\+//;
   return $name if $name =~ /^IPC::Manager::Serializer::/;
   return "IPC::Manager::Serializer::$name";
}

# a protocol or serializer name as its class, the module loaded: resolved
# once per name (a start-up resolves the defaults several times; each
# resolution writes to the memory of the patterns it runs, and after a
# fork every page written to first costs a copy-on-write fault)
my (%PROTO_LOADED, %SER_LOADED);
sub _proto_load { my ($name) = @_; return $PROTO_LOADED{$name} ||= require_mod (_proto_class ($name)) }
sub _ser_load   { my ($name) = @_; return $SER_LOADED{$name}   ||= require_mod (_ser_class ($name)) }

# a class name, or one cached instance for [$class, %args]
sub _serializer {
   my ($spec) = @_;
   return $spec if blessed $spec;
   if (ref $spec eq 'ARRAY') {
      my ($class, %args) = @$spec;
      $class = _ser_load ($class);
      my $key = join "\0", $class, map { defined $_ ? $_ : '' } %args;
      return $SER_CACHE{$key} ||= $class->new (%args);
   }
   croak "Don't know how to interpret serializer spec '$spec'" if ref $spec;
   return _ser_load ($spec);
}

sub ipcm_default_protocol {
   if (@_) {
      my $p = shift;
      $PROTOCOL = defined $p ? _proto_load ($p) : undef;
   }
   return $PROTOCOL;
}

sub ipcm_default_protocol_list {
   if (@_) {
      @PROTOCOLS = (@_ == 1 && ref $_[0] eq 'ARRAY') ? @{ $_[0] } : @_;
   }
   return [@PROTOCOLS];
}

sub ipcm_default_serializer {
   if (@_) {
      $SERIALIZER = @_ > 1 ? [@_] : $_[0];
      undef $SER_DEFAULT;
   }
   return $SER_DEFAULT if defined $SER_DEFAULT;
   my $s = _serializer ($SERIALIZER);
   $SER_DEFAULT = $s;
   return $s;
}

sub ipcm_spawn {
   my %p = @_;
   my $protocol   = delete $p{protocol};
   my $protocols  = delete $p{protocols};
   my $serializer = delete $p{serializer};
   my %spawn;
   for my $k (qw(guard do_sanity_check debug signal stash)) {
      $spawn{$k} = delete $p{$k} if exists $p{$k};
   }
   delete $p{dbh};

   if ($protocol) {
      $protocol = _proto_load ($protocol);
   }
   elsif ($PROTOCOL) {
      # (the class the setter resolved: resolving it again would prefix a
      # name given with a '+')
      $protocol = $PROTOCOL;
   }
   else {
      for my $cand (@{ $protocols || [@PROTOCOLS] }) {
         my $class = eval { _proto_load ($cand) } or next;
         next unless $class->viable;
         $protocol = $class;
         last;
      }
      croak "Could not find a viable protocol" unless $protocol;
   }
   $serializer = defined $serializer ? _serializer ($serializer) : ipcm_default_serializer ();
   my $route = $protocol->spawn (%p);
   return IPC::Manager::Spawn->new (%spawn, protocol => $protocol, serializer => $serializer, route => $route);
}

# connection strings that name their protocol and serializer, decoded: a
# service decodes the string of its bus in the child, before it registers,
# so ipcm_service decodes it once before forking
my %CINFO;

sub _cinfo {
   my ($cinfo, $params) = @_;
   return @{ $CINFO{$cinfo} } if defined $cinfo && !ref $cinfo && $CINFO{$cinfo};
   my ($proto, $ser, $route);
   if (ref $cinfo eq 'ARRAY') {
      ($proto, $ser, $route) = @$cinfo;
   }
   elsif (ref $cinfo eq 'HASH') {
      %$params = (%$params, %$cinfo);
      ($proto, $ser, $route) = delete @$params{qw(protocol serializer route)};
   }
   elsif (defined $cinfo && !ref $cinfo) {
      require IPC::Manager::Serializer::JSON;
      my $d = eval { IPC::Manager::Serializer::JSON->deserialize ($cinfo) };
      croak "Not sure what to do with $cinfo" unless ref $d eq 'ARRAY';
      ($proto, $ser, $route) = @$d;
      if ($proto && defined $ser) {
         %CINFO = () if keys %CINFO >= 64;
         my @r = (_proto_load ($proto), _serializer ($ser), $route);
         $CINFO{$cinfo} = \@r;
         return @r;
      }
   }
   else {
      croak "Not sure what to do with " . (defined $cinfo ? $cinfo : 'undef');
   }
   $proto = $proto ? _proto_load ($proto) : ($PROTOCOL || croak "Not sure what to do with $cinfo");
   $ser = defined $ser ? _serializer ($ser) : ipcm_default_serializer ();
   return ($proto, $ser, $route);
}

# the connection string of a new bus; what _cinfo makes of it is known
# already (for classes whose names it keeps as they are): cached at once
sub _spawn_info {
   my ($spawn) = @_;
   my $info = $spawn->info;
   # (its fields, not its accessors: each is a sub of its own, and a sub
   # entered writes to its own memory, a copy-on-write fault when the
   # process forked before)
   my ($proto, $ser) = ($spawn->{protocol}, ref ($spawn->{serializer}) || $spawn->{serializer});
   if ($proto =~ /^IPC::Manager::Client::/ && $ser =~ /^IPC::Manager::Serializer::/) {
      %CINFO = () if keys %CINFO >= 64;
      $CINFO{$info} = [$proto, $ser, $spawn->{route}];
   }
   return $info;
}

sub ipcm_connect {
   my ($id, $cinfo, %params) = @_;
   my ($proto, $ser, $route) = _cinfo ($cinfo, \%params);
   return $proto->connect ($id, $ser, $route, %params);
}

sub ipcm_reconnect {
   my ($id, $cinfo, %params) = @_;
   my ($proto, $ser, $route) = _cinfo ($cinfo, \%params);
   return $proto->reconnect ($id, $ser, $route, %params);
}

sub connect               { shift; ipcm_connect (@_) }
sub reconnect             { shift; ipcm_reconnect (@_) }
sub spawn                 { shift; ipcm_spawn (@_) }
sub service               { shift; ipcm_service (@_) }
sub worker                { shift; ipcm_worker (@_) }
sub default_protocol      { shift; ipcm_default_protocol (@_) }
sub default_protocol_list { shift; ipcm_default_protocol_list (@_) }
sub default_serializer    { shift; ipcm_default_serializer (@_) }

1;
__END__

=head1 NAME

IPC::Manager - services and workers that talk over a local message bus

=head1 SYNOPSIS

   use IPC::Manager qw(ipcm_service ipcm_worker ipcm_default_protocol);

   # a service in its own process; the handle owns the bus
   my $h = ipcm_service (echo => (
      handle_request => sub {
         my ($self, $req, $msg) = @_;
         return "echo: $req->{request}";       # one value: the response
      },
   ));

   my $resp = $h->sync_request (echo => "hello");
   print $resp->{response}, "\n";               # echo: hello

   # several requests at once, answered through callbacks
   $h->send_request (echo => $_, sub { print $_[0]{response}, "\n" }) for 1 .. 3;
   $h->await_all_responses (10);

   undef $h;   # stops the service (and everything else on its bus)

=head1 DESCRIPTION

This is a drop-in implementation of the service layer of IPC::Manager
0.000038 (by Chad Granum): C<ipcm_service> forks a process that runs a
service loop and returns a handle to talk to it; services can start other
services and workers; every participant is a named client of a message
bus. Programs written for the original run unchanged. The waiting and the
transport are done by the distribution's C core on libevent: a service
wakes when a message, a signal, a child's exit or a watched process's exit
happens, not on a polling tick.

=head2 Concepts

=over

=item bus (route)

A directory (C<$TMPDIR/PerlIPCManager-PID-XXXXXX>) in which every client
has an entry (its endpoint), a pidfile and, once it left, a statistics
file. The I<protocol> decides what the entry is and how messages travel:
L<IPC::Manager::Client::UnixSocket> (a datagram socket per client, one
datagram per message), L<IPC::Manager::Client::ConnectionUnix> (a listening
stream socket per client, length-framed messages over connections) and
L<IPC::Manager::Client::MessageFiles> (a directory per client, one file per
message). The default is the first usable one of
C<ipcm_default_protocol_list>: UnixSocket, ConnectionUnix, MessageFiles.

=item connection info

A JSON string C<[protocol class, serializer class, route]> that lets any
process join a bus: C<"$spawn">, C<< $spawn->info >>, C<< $handle->ipcm_info >>.

=item service

An object doing the role L<IPC::Manager::Role::Service> (normally an
L<IPC::Manager::Service> built from callbacks) running its loop in its own
process. It is I<ready> when it has registered on the bus, which happens
right after its C<on_start> callbacks ran.

=item handle and peer

The process that started a service talks to it through an
L<IPC::Manager::Service::Handle> (blocking waits allowed); a service talks
to another service through an L<IPC::Manager::Service::Peer> (no blocking
waits: responses come back through the loop).

=item request and response

C<< {ipcm_request_id => ID, request => PAYLOAD} >> answered by
C<< {ipcm_response_id => ID, response => VALUE} >>, plus C<ipcm_error>
when the service's handler died. Anything else is a general message.

=item worker

A plain forked process of a service (C<ipcm_worker>) that runs one code
reference and exits; the service terminates its workers when it stops.

=back

=head1 FUNCTIONS

Nothing is exported by default; import what you use. Every function is
also a class method without the C<ipcm_> prefix (C<< IPC::Manager->spawn >>,
C<< ipcm->service (...) >>): C<ipcm()> returns the string C<IPC::Manager>.

=over

=item $handle = ipcm_service ($name => \&on_all)

=item $handle = ipcm_service ($name, \%params, \&on_all)

=item $handle = ipcm_service ($name, %params)

Starts a service named C<$name>. The parameters are those of
L<IPC::Manager::Service> (or of the class given as C<class>), plus:

C<exec> (C<< {cmd => [perl arguments], stay_in_begin => 0/1} >>: the child
runs a fresh perl instead of continuing in the fork; the parameters must
then be JSON, i.e. a class-based service, no code references),
C<new_ipcm> (inside a service: start a new bus instead of joining the
service's), C<handle_params> (extra arguments for the returned handle or
peer), C<skip_role_checks>, C<timeout> (readiness timeout, default 10 s;
0 means 10), C<ipcm_info> (join this bus), C<watch_pids> (the service
stops when one of these processes is gone), C<orig_io>, C<redirect>,
C<rebase_0>.

What happens depends on where and how it is called:

=over

=item * outside any service, no C<ipcm_info>, scalar or list context:
a new bus is created and owned by the returned handle; the service watches
the calling process (it stops if the caller dies). Void context croaks.

=item * with C<ipcm_info>: the service joins that bus; a handle is
returned in scalar or list context; in void context the call returns right
after the fork.

=item * inside a service: the service joins the enclosing service's bus
and a cached L<IPC::Manager::Service::Peer> is returned (void context:
nothing, right after the fork; wait yourself with
C<< $self->peer($name)->ready(0) >>).

=back

Unless it returns right after the fork, the call waits until the service
is ready and croaks C<Timeout waiting for service to come up after
${timeout}s> otherwise.

=item $pid = ipcm_worker ($name, \&code)

Only inside a running service: forks a worker that runs C<< $code->() >>
and exits with its return value (255 if it dies). Returns the worker's
pid in the service. The worker leaves the service's whole call stack
first (see L</Nested services and workers>).

=item $spawn = ipcm_spawn (%params)

Creates a bus: C<protocol>, C<protocols> (candidates), C<serializer>,
C<guard> (default 1: dropping the L<IPC::Manager::Spawn> shuts the bus
down), C<do_sanity_check>, C<debug>, C<signal> (sent to every client
before the terminate broadcast), and C<File::Temp::tempdir> options for
the route (C<template>, C<DIR>, ...).

=item $client = ipcm_connect ($id, $info, %params)

=item $client = ipcm_reconnect ($id, $info, %params)

Joins a bus (or resumes a suspended client, MessageFiles only) and returns
the protocol's client object (L<IPC::Manager::Client>). C<$info> is the
connection string, an array C<[$protocol, $serializer, $route]> or a hash
of parameters.

=item ipcm_default_protocol ([$protocol])

=item ipcm_default_protocol_list ([\@list | @list])

=item ipcm_default_serializer ([$class | $class, %args])

Getters and setters. Names are expanded with C<IPC::Manager::Client::> /
C<IPC::Manager::Serializer::> unless they start with C<+>.

=back

=head2 Nested services and workers

A service may start services and workers from any of its callbacks. The
new process is a fork of the service, in the middle of the callback; it
must not go on with the enclosing service's loop. It leaves all of it -
the callback, the user's C<eval> blocks, the loop, the runner - with a
Perl loop exit to the runner at the bottom of its stack
(C<IPC::Manager::Service::State::_ipcm_service>), which runs the new
service or the worker. No C<eval> can stop that exit (an exception would
be caught by the user's C<eval>s), and the scope-exit actions of the
abandoned frames (destructors, C<local> restorations) run on the way. The
parent goes on in its callback unaffected.

=head2 Shutdown

Dropping the last reference to a top-level handle disconnects the handle,
then the bus owner sends the terminate broadcast (after C<< {spawn}{signal} >>
if set), waits for every client to leave (woken by the route's watch), reaps
them and removes the bus. Each service finishes its iteration, runs
C<on_cleanup>, drains its queued sends (5 s at most), stops its workers
(TERM, then KILL every 15 s) and leaves through C<exit>, so C<END> blocks
and Test2::IPC work in services.

If the owner of the bus is killed, the top-level service notices at once
(it watches the owner's pid), stops every other client of the bus with
the terminate broadcast, waits for them and removes the bus directory.

=head1 EXAMPLES

A nested service and a worker:

   my $h = ipcm_service (outer => (
      on_start => sub {
         my $self = shift;
         ipcm_service (inner => (handle_request => sub { uc $_[1]{request} }));
         $self->peer ('inner')->ready (0);
         ipcm_worker (ticker => sub { sleep 1 while 1 });
      },
      handle_request => sub {
         my ($self, $req, $msg) = @_;
         my $from = $msg->from;
         $self->peer ('inner')->send_request ($req->{request}, sub {
            $self->send_response ($from, $req->{ipcm_request_id}, $_[0]{response});
         });
         return;                                # answered later
      },
      handle_response => sub {                  # dispatch our own requests' answers
         my ($self, $resp) = @_;
         my $e = delete $self->{_RESPONSE_HANDLER}{ $resp->{ipcm_response_id} } or return;
         $e->{cb}->($resp);
      },
   ));
   print $h->sync_request (outer => "abc")->{response}, "\n";   # ABC

An exec-mode service (a fresh perl, e.g. to shed the parent's memory):

   my $h = ipcm_service (echo => (
      class => 'IPC::Manager::Service::Echo',
      exec  => { cmd => ['-Ilib'] },
   ));

More in the distribution's F<examples/ipcm-*.pl>.

=head1 TYPICAL PROBLEMS

=over

=item a void-context nested service is not ready yet

It returns right after the fork; wait with C<< $self->peer($name)->ready(0) >>
before sending to it.

=item responses to a service's own requests never arrive at the callback

L<IPC::Manager::Service> hands every response to its C<handle_response>
callback; dispatch C<< $self->{_RESPONSE_HANDLER}{$id}{cb} >> there (see
the example above).

=item a handle blocks forever

C<await_response> without a timeout waits as long as the peer is alive. A
peer that died is noticed (a process that exited but was not reaped counts
as gone here), but a live peer that never answers is not; give a timeout.

=item the service is killed by TERM, INT or HUP

Signals a service does not grab keep their default action. Grab them with
C<< on_sig => {TERM => sub {...}} >> to stop cleanly
(C<< $self->terminate >>).

=item messages arrive out of order

Order holds within one batch of C<get_messages>. A service sends without
blocking, and queued messages to a busy peer may overtake others.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

=over

=item * the AtomicPipe and DBI protocols and the zstd serializer are not
provided (their modules cannot be installed on Debian 12); the default
protocol list names only UnixSocket, ConnectionUnix and MessageFiles.

=item * a process that exited but was not reaped (a zombie) counts as
gone: a SIGKILLed service is noticed by C<await_response> at once and the
bus teardown does not wait 60 s for it.

=item * the bus teardown is woken by the route's changes instead of
polling once per second: dropping a handle takes milliseconds.

=item * UnixSocket receives datagrams of any size whole (the original
truncated at 64 KiB and then failed to decode); a message larger than the
kernel accepts fails with C<Cannot send message: Message too long>.

=item * bad input on the bus (malformed JSON, a truncated or oversized
frame) is reported with a warning and skipped; the service keeps serving.

=item * when the owner of a bus is killed, nested services stop too and
the bus directory is removed.

=item * C<ipcm_spawn (signal => ...)> is honoured.

=item * a top-level service watches its creator in addition to the
C<watch_pids> given, instead of replacing them.

=item * services ignore SIGPIPE while they run (a vanished ConnectionUnix
peer gives an error, not a dead service).

=item * a service's grabbed-signal handlers are not inherited by the
nested services and workers it starts.

=item * a forked copy of a handle does not disconnect (nor warn
C<Client used from wrong PID>) when it is destroyed.

=item * C<ipcm_service> inside a worker croaks
C<ipcm_service() cannot be called from inside a worker>.

=item * a failed C<exec> in exec mode warns before falling back to the
in-fork runner.

=back

=head1 SEE ALSO

L<IPC::Manager::Service>, L<IPC::Manager::Service::Handle>,
L<IPC::Manager::Service::Peer>, L<IPC::Manager::Spawn>,
L<IPC::Manager::Client>, L<IPC::Manager::Role::Service>.

=head1 AUTHOR

The original IPC::Manager is by Chad Granum. This implementation belongs
to the AnyEvent::Fork::Core distribution.

=cut
