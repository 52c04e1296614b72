package IPC::Manager::Service;

use strict;
use warnings;

use Carp qw(croak confess);
use Scalar::Util qw(blessed);
use Role::Tiny::With;
use IPC::Manager::Base ();
use IPC::Manager::Util ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

my @ACTIONS = qw(on_all on_cleanup on_general_message on_interval on_peer_delta on_pid on_start
                 on_unhandled should_end);

sub init {
   my $self = shift;
   croak "'post_fork' must be a coderef"
      if defined $self->{post_fork} && ref $self->{post_fork} ne 'CODE';

   for my $a (@ACTIONS) {
      my $v = $self->{$a};
      my @cbs = !defined $v ? () : ref $v eq 'ARRAY' ? @$v : ($v);
      my @bad = grep ref $_ ne 'CODE', @cbs;
      croak "All '$a' callbacks must be coderefs, got: " . join (", ", map { defined $_ ? $_ : 'undef' } @bad)
         if @bad;
      $self->{$a} = \@cbs;
   }

   my $has_all = @{ $self->{on_all} } ? 1 : 0;
   croak "Either 'on_all' or 'handle_request' callback is required"
      unless $has_all || $self->{handle_request};
   croak "'handle_request' must be a coderef"
      if defined $self->{handle_request} && ref $self->{handle_request} ne 'CODE';
   croak "'handle_response' must be a coderef"
      if defined $self->{handle_response} && ref $self->{handle_response} ne 'CODE';
   $self->{handle_request} ||= sub { return };
   $self->{handle_response} ||= $has_all
      ? sub { return }
      : sub { confess "Got a response, but no response handler set" };

   my $sig = $self->{on_sig};
   if (defined $sig) {
      croak "'on_sig' must be a hashref" unless ref $sig eq 'HASH';
      for my $name (keys %$sig) {
         my @cbs = ref $sig->{$name} eq 'ARRAY' ? @{ $sig->{$name} } : ($sig->{$name});
         my @bad = grep ref $_ ne 'CODE', @cbs;
         croak "All signal handlers must be coderefs, got: " . join (", ", map { defined $_ ? $_ : 'undef' } @bad)
            if @bad;
         $sig->{$name} = \@cbs;
      }
   }
   else {
      $self->{on_sig} = {};
   }

   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return;
}

__PACKAGE__->_accessors (ro => [qw(name ipcm_info orig_io redirect post_fork)],
                         rw => [qw(pid watch_pids intercept_errors expose_error_details use_posix_exit)]);
sub interval { defined $_[0]->{interval} ? $_[0]->{interval} : 0.2 }
sub cycle    { defined $_[0]->{cycle}    ? $_[0]->{cycle}    : 0.2 }

for my $a (@ACTIONS) {
   no strict 'refs';
   *$a = sub { $_[0]->{$a} };
   *{"push_$a"}    = sub { my ($s, $cb) = @_; push @{ $s->{$a} }, $cb; return };
   *{"unshift_$a"} = sub { my ($s, $cb) = @_; unshift @{ $s->{$a} }, $cb; return };
   *{"remove_$a"}  = sub { my ($s, $cb) = @_; @{ $s->{$a} } = grep $_ != $cb, @{ $s->{$a} }; return };
   *{"clear_$a"}   = sub { my ($s) = @_; @{ $s->{$a} } = (); return };
   next if $a eq 'should_end';
   *{"run_$a"} = sub {
      my ($s, @args) = @_;
      return [ map { scalar $_->($s, @args) } @{ $s->{$a} } ];
   };
}

sub run_should_end {
   my ($self, @args) = @_;
   my $end = 0;
   for my $cb (@{ $self->{should_end} }) { $end = 1 if $cb->($self, @args) }
   return $end;
}

sub signals_to_grab { my @s = sort keys %{ $_[0]->{on_sig} }; return @s }

sub push_on_sig    { my ($s, $sig, $cb) = @_; push @{ $s->{on_sig}{$sig} }, $cb; return }
sub unshift_on_sig { my ($s, $sig, $cb) = @_; unshift @{ $s->{on_sig}{$sig} }, $cb; return }
sub remove_on_sig {
   my ($s, $sig, $cb) = @_;
   my $l = $s->{on_sig}{$sig} or return;
   @$l = grep $_ != $cb, @$l;
   return;
}
sub clear_on_sig { my ($s, $sig) = @_; delete $s->{on_sig}{$sig}; return }
sub run_on_sig {
   my ($self, $sig, @args) = @_;
   return [ map { scalar $_->($self, $sig, @args) } @{ $self->{on_sig}{$sig} || [] } ];
}

sub handle_request  { my $self = shift; $self->{handle_request}->($self, @_) }
sub handle_response { my $self = shift; $self->{handle_response}->($self, @_) }

# for the loop (see IPC::Manager::Role::Service): the callback a request
# goes to, while the class keeps this handle_request; and the callback
# list (edited in place by the helpers above) behind run_ACTION, while the
# class keeps this one: the loop skips it while the list is empty
sub _request_handler {
   my $self = shift;
   my $cv = $self->can ('handle_request');
   return $cv == \&handle_request ? $self->{handle_request} : $cv;
}

sub _hook_callbacks {
   my ($self, $m) = @_;
   (my $action = $m) =~ s/^run_//;
   return IPC::Manager::Util::_keeps ($self, __PACKAGE__, $m) ? $self->{$action} : undef;
}

sub post_fork_hook {
   my $self = shift;
   $self->{post_fork}->($self) if $self->{post_fork};
   return;
}

with 'IPC::Manager::Role::Service';

sub DESTROY {
   my $self = shift;
   return unless defined $self->{pid} && $self->{pid} == $$;
   return unless $self->{_WORKERS} && %{ $self->{_WORKERS} };
   local ($?, $!, $@);
   eval { $self->terminate_workers; 1 };
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Service - a service built from callbacks

=head1 SYNOPSIS

   use IPC::Manager qw(ipcm_service);

   my $h = ipcm_service (counter => (
      interval       => 1,
      on_start       => sub { $_[0]->{n} = 0 },
      on_interval    => sub { $_[0]->{ticks}++ },
      on_sig         => { HUP => sub { $_[0]->{n} = 0 } },
      handle_request => sub {
         my ($self, $req, $msg) = @_;
         return ++$self->{n} if $req->{request} eq 'next';
         die "unknown request\n";
      },
      on_cleanup     => sub { warn "counter stops at $_[0]{n}\n" },
   ));

=head1 DESCRIPTION

The general-purpose service class: every behaviour is a callback given to
the constructor (usually through C<ipcm_service>). It does the role
L<IPC::Manager::Role::Service>, which supplies the loop (C<run>).

Each loop iteration waits for activity - messages, grabbed signals, exited
children, the C<interval> tick, peers joining or leaving, a watched pid
gone - and then calls, in this order: C<on_all>, the C<on_sig> handlers
(once per signal name however often it arrived), C<on_pid> per reaped
child, stops at once if a watched pid is gone, C<on_interval>,
C<on_peer_delta>, then per message: a terminate message stops the
service after this iteration, a request goes to C<handle_request>, a
response to C<handle_response>, anything else to C<on_general_message>;
finally C<on_unhandled> for activity nobody took and C<should_end>. When
the loop ends: C<on_cleanup>, queued sends are drained (5 s at most), the
workers are terminated, and C<run> returns the terminate value (the exit
status).

=head1 CONSTRUCTOR PARAMETERS

Every key given is stored in the object (unknown keys included); callbacks
may store their own keys too.

=over

=item name, ipcm_info, orig_io, redirect

Set by C<ipcm_service>: the bus name, the bus, duplicates of the caller's
STDERR/STDOUT/STDIN (C<debug> writes to them), and an opaque value nested
services inherit.

=item handle_request => sub { my ($self, $content, $msg) = @_; ... }

Required unless C<on_all> is given. C<$content> is the whole request
hash C<< {ipcm_request_id, request} >>. Return one value (undef too): it
is sent as the response. Return the empty list: no response now (send it
later with C<send_response>). More than one value croaks C<Incorrect
number of responses to request>, which stops the service unless
C<intercept_errors> is set. If it dies, the requester gets
C<< {response => undef, ipcm_error => 'Internal service error'} >> (or the
exception text with C<expose_error_details>) and the service goes on.

=item handle_response => sub { my ($self, $content, $msg) = @_; ... }

Every response this service receives. It replaces the automatic matching
of the service's own requests: look up
C<< $self->{_RESPONSE_HANDLER}{$content->{ipcm_response_id}} >> yourself.
Default: dies C<Got a response, but no response handler set>, or does
nothing when C<on_all> is given.

=item on_all, on_start, on_interval, on_peer_delta, on_pid, on_general_message, on_unhandled, should_end, on_cleanup

A code reference or an array of them, called as C<< $cb->($self, ...) >>:
C<on_all ($activity)> (the whole activity hash: C<messages>, C<sigs>,
C<pids>, C<peer_delta>, C<interval>, C<pid_watch>, C<terminated>);
C<on_start ()> once, before the service registers on the bus (if it dies
the service exits 255); C<on_interval ()>; C<on_peer_delta ({name => 1 or
-1})>; C<on_pid ($pid, $raw_wait_status)> for children that are not
workers; C<on_general_message ($msg)>; C<on_unhandled ($leftovers)>;
C<should_end ()> (any true return stops the service); C<on_cleanup ()>.

=item on_sig => {NAME => $cb or [$cb, ...]}

Signals to grab while the service runs; handlers get C<($self, $name)>.

=item post_fork => sub { my ($self) = @_; ... }

Runs in the new process right after the fork, before the service starts:
the place to daemonise (fork again and let the middle process C<_exit>)
or to interpose a wrapper process. Readiness follows the process that
registers on the bus, whichever it is.

=item interval (0.2), cycle (0.2)

Seconds between C<on_interval> calls; longest wait of one loop step.

=item watch_pids => [pids]

Stop when one of these processes is gone.

=item intercept_errors (0), expose_error_details (0), use_posix_exit (0)

Catch exceptions of callbacks (they are printed and warned, the loop goes
on); send exception texts to requesters; leave through C<POSIX::_exit>
(no C<END> blocks, no disconnect).

=back

Constructor errors: C<'post_fork' must be a coderef>, C<Either 'on_all' or
'handle_request' callback is required>, C<'handle_request' must be a
coderef>, C<'handle_response' must be a coderef>, C<All 'ACTION'
callbacks must be coderefs, got: ...>, C<'on_sig' must be a hashref>,
C<All signal handlers must be coderefs, got: ...>.

=head1 METHODS

=head2 Callback lists

For each action (C<on_all on_cleanup on_general_message on_interval
on_peer_delta on_pid on_start on_unhandled should_end>): C<ACTION> (the
array), C<push_ACTION ($cb)>, C<unshift_ACTION ($cb)>, C<remove_ACTION
($cb)>, C<clear_ACTION>, C<run_ACTION (@args)> (array of the return
values; C<run_should_end> returns 1 or 0). Signals: C<push_on_sig ($sig,
$cb)>, C<unshift_on_sig>, C<remove_on_sig>, C<clear_on_sig ($sig)>,
C<run_on_sig ($sig, @args)>, C<signals_to_grab>.

=head2 Inside the service

=over

=item $self->client

The service's bus client (L<IPC::Manager::Client>); the first use
registers the service on the bus.

=item $peer = $self->peer ($name, %params)

A cached L<IPC::Manager::Service::Peer> for another client of the bus.

=item $id = $self->send_request ($peer, $request [, $cb]), $self->get_response ($id)

=item $self->send_response ($peer, $request_id, $value [, $error])

Never blocks inside the loop: what the peer cannot take now is queued.

=item $self->terminate ([$value]), terminated, is_terminated

Stop after this iteration; the first true value is the exit status.

=item workers, register_worker ($name, $pid), reap_workers (kill => $sig), terminate_workers, reap_children

=item $h = $self->handle (name => $name, %params)

A new L<IPC::Manager::Service::Handle> on this service.

=item debug (@text), try ($cb), in_correct_pid, pid_is_running ($pid), peer_delta (peek => 1)

=item name, pid, set_pid, ipcm_info, orig_io, redirect, watch_pids, set_watch_pids, interval, cycle, intercept_errors, expose_error_details, use_posix_exit (and their set_ forms)

=back

When the object is destroyed in its own process, it terminates its
workers (keeping C<$?>).

=head1 DIFFERENCES FROM THE ORIGINAL

Grabbed signals do not stay installed in nested services and workers;
SIGPIPE is ignored while the service runs; see L<IPC::Manager>.

The loop reads C<cycle> and C<interval> once, when C<run> starts (they
are read-only), and calls the C<handle_request> callback directly: the
method C<handle_request> is only called when a subclass overrides it. See
L<IPC::Manager::Role::Service/"What run looks up once">.

=cut
