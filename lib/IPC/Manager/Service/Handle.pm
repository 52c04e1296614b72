package IPC::Manager::Service::Handle;

use strict;
use warnings;

use Carp qw(croak);
use Time::HiRes ();
use IPC::Manager::Util qw(uuid pid_is_running tinysleep);
use Role::Tiny::With;
use IPC::Manager::Base ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

sub init {
   my $self = shift;
   croak "'service_name' is a required attribute" unless defined $self->{service_name};
   croak "'ipcm_info' is a required attribute"    unless defined $self->{ipcm_info};
   $self->{name} = uuid () unless defined $self->{name};
   $self->{interval} = 0.2 unless defined $self->{interval};
   $self->{buffer} ||= [];
   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return;
}

__PACKAGE__->_accessors (ro => [qw(name service_name ipcm_info child_pid)], rw => [qw(interval)]);
sub _set_child_pid { $_[0]->{child_pid} = $_[1] }

sub client {
   my $self = shift;
   return $self->{client} ||= do {
      require IPC::Manager;
      IPC::Manager->connect ($self->{name}, $self->{ipcm_info});
   };
}

sub ready {
   my ($self, $timeout) = @_;
   return $self->client->peer_active ($self->{service_name}, $timeout) ? 1 : 0;
}

sub service_pid { $_[0]->client->peer_pid ($_[0]->{service_name}) }

sub _pending_peer_active {
   my ($self, $peer, $pid) = @_;
   my $client = $self->client;
   if ($client->can ('peer_suspend_deadline')) {
      my $dl = $client->peer_suspend_deadline ($peer);
      return 0 if defined $dl && $dl < Time::HiRes::time ();
   }
   if ($client->suspend_supported) {
      return 0 unless defined $client->peer_exists ($peer);
      my $now = $client->peer_pid ($peer);
      return 0 if $pid && $now && $now == $pid && !pid_is_running ($pid);
      return 1;
   }
   return pid_is_running ($pid) ? 1 : 0 if $pid;
   return $client->peer_active ($peer) ? 1 : 0;
}

# the select(2) bits of the client's message handles ('' without any),
# kept unless the protocol's handle set changes at runtime (a client of
# this distribution keeps those of a changing set itself, in
# {_select_bits}: see _poll)
sub _rin {
   my ($self, $client) = @_;
   my $dyn = $client->have_dynamic_handles_for_select;
   return $self->{_RIN} if !$dyn && defined $self->{_RIN};
   my $rin;
   if ($client->can ('_select_bits')) {
      $rin = $client->have_handles_for_select ? $client->_select_bits : '';
   }
   else {
      $rin = '';
      vec ($rin, fileno $_, 1) = 1 for $self->select_handles;
   }
   $self->{_RIN} = $rin unless $dyn;
   return $rin;
}

# whether a handle class waits with this module's poll and await_response
# and files and looks for answers with the role's handle_response and
# get_response: its waits then run through _poll, which stores an answer
# awaited without a callback itself, and look at the stored answers
# directly (looked at once per class)
my %OWN;
sub _own {
   my $self = shift;
   return $OWN{ ref $self } = IPC::Manager::Util::_keeps ($self, __PACKAGE__, qw(poll await_response get_response handle_response));
}

sub poll {
   my ($self, $timeout) = @_;
   my $own = $OWN{ ref $self };
   $own = $self->_own unless defined $own;
   return $self->_poll ($own, $self->{client} || $self->client, $timeout,
                        defined $timeout ? Time::HiRes::time () + $timeout : undef);
}

# poll's work: waits up to $timeout (undef: for ever), until $deadline
# (the time the caller computed with it) when it has to wait again
sub _poll {
   my ($self, $own, $client, $timeout, $deadline) = @_;
   my ($left, @msgs) = ($timeout);
   while (1) {
      my $rin = defined $self->{_RIN} ? $self->{_RIN}
              : defined $client->{_select_bits} ? $client->{_select_bits} : $self->_rin ($client);
      if (length $rin && !$client->_buffered) {
         my $n = select (my $rout = $rin, undef, undef, $left);
         # (a protocol with many handles, which _rin does not keep, reads
         # only the readable ones)
         $client->{_rready} = $rout if $n > 0 && !defined $self->{_RIN};
         @msgs = $client->get_messages if $n > 0 || $client->ready_messages;
      }
      else {
         @msgs = $client->get_messages;
      }
      last if @msgs || (defined $timeout && $timeout == 0);
      if (defined $deadline) {
         $left = $deadline - Time::HiRes::time ();
         last if $left <= 0;
      }
      tinysleep ($self->{interval}) unless length $rin;
   }
   return unless @msgs;
   for my $m (@msgs) {
      my $c = $m->{content};
      if (ref $c eq 'HASH' && $c->{ipcm_response_id}) {
         # (what the role's handle_response does with the first answer to a
         # request awaited without a callback; a callback may change the
         # stores: looked up for each answer)
         my $e = $own && $self->{_RESPONSES} && $self->{_RESPONSES}{ $c->{ipcm_response_id} };
         if ($e && !defined $e->{response}
             && !($self->{_RESPONSE_HANDLER} && $self->{_RESPONSE_HANDLER}{ $c->{ipcm_response_id} })) {
            $e->{response} = $c;
         }
         else { $self->handle_response ($c, $m) }
      }
      else { push @{ $self->{buffer} }, $m }
   }
   return scalar @msgs;
}

sub messages {
   my $self = shift;
   my @m = @{ $self->{buffer} || [] };
   @{ $self->{buffer} } = ();
   return @m;
}

sub sync_request {
   my ($self, $peer, $payload, $timeout) = @_;
   my $id = $self->send_request ($peer, $payload);
   # (the answer to a request just sent cannot be there yet: the first
   # look for it comes after the first wait step; a class with its own
   # await_response gets the call)
   my $own = $OWN{ ref $self };
   $own = $self->_own unless defined $own;
   return $own ? $self->_await ($id, $timeout, 0) : $self->await_response ($id, $timeout);
}

sub await_response { $_[0]->_await ($_[1], $_[2], 1) }

# await_response; $got: whether to look for the response before waiting.
# Each wait step polls for min(interval, the time left).
sub _await {
   my ($self, $id, $timeout, $got) = @_;
   my $now = Time::HiRes::time ();
   my $deadline = defined $timeout ? $now + $timeout : undef;
   my $own = $OWN{ ref $self };
   $own = $self->_own unless defined $own;
   my ($checked, $waited) = (1, 0);
   while (1) {
      # (looked at again only when a wait step brought messages; the
      # role's get_response croaks when the entry is not there: called
      # then, and the first time)
      if ($got) {
         my $e = $own && $waited && $self->{_RESPONSES} && $self->{_RESPONSES}{$id};
         if ($e && !($self->{_RESPONSE_HANDLER} && $self->{_RESPONSE_HANDLER}{$id})) {
            if (defined $e->{response}) { delete $self->{_RESPONSES}{$id}; return $e->{response} }
         }
         else {
            my @r = $self->get_response ($id);
            return $r[0] if @r;
         }
      }
      $now = Time::HiRes::time () if $waited++;
      # the peer's liveness is looked at when a wait step brought nothing
      unless ($checked++) {
         my ($peer, $pid) = $self->pending_response_peer ($id);
         unless ($self->_pending_peer_active ($peer, $pid)) {
            $self->poll (0);
            my @r = $self->get_response ($id);
            return $r[0] if @r;
            croak "peer '$peer' went away while awaiting response '$id'";
         }
      }
      croak "await_response: timed out after ${timeout}s waiting for response '$id'"
         if defined $deadline && $now >= $deadline;
      $checked = 0 unless $got = $self->_wait_step ($own, $now, $deadline);
   }
}

# one wait for messages: min(interval, the time left) from $now
sub _wait_step {
   my ($self, $own, $now, $deadline) = @_;
   my $t = $self->{interval};
   $t = $deadline - $now if defined $deadline && $deadline - $now < $t;
   $t = 0 if $t < 0;
   return $own ? $self->_poll (1, $self->{client} || $self->client, $t, $now + $t) : $self->poll ($t);
}

sub await_all_responses {
   my ($self, $timeout) = @_;
   my $now = Time::HiRes::time ();
   my $deadline = defined $timeout ? $now + $timeout : undef;
   my $own = $OWN{ ref $self };
   $own = $self->_own unless defined $own;
   # (as in await_response, the peers' liveness is first looked at after a
   # wait step that brought nothing)
   my ($quiet, $waited) = (0, 0);
   # the ids still believed pending: answered ones leave from the front,
   # so each wake-up looks at few entries (have_pending_responses, which
   # looks at every entry, is asked when the list runs out)
   my @ids;
   while (1) {
      my ($res, $cbs) = ($self->{_RESPONSES}, $self->{_RESPONSE_HANDLER});
      shift @ids while @ids && !(($cbs && $cbs->{ $ids[0] })
         || ($res && $res->{ $ids[0] } && !defined $res->{ $ids[0] }{response}));
      if (!@ids) {
         last unless $self->have_pending_responses;
         @ids = (($cbs ? keys %$cbs : ()),
                 ($res ? grep { !defined $res->{$_}{response} } keys %$res : ()));
      }
      $now = Time::HiRes::time () if $waited++;
      # the peers' liveness is looked at when a wait step brought nothing,
      # once per peer and pid
      if ($quiet) {
         my (%seen, %gone);
         for my $h (map { $_ ? values %$_ : () } $self->{_RESPONSES}, $self->{_RESPONSE_HANDLER}) {
            next if exists $h->{response} && defined $h->{response};
            my $pid = defined $h->{pid} ? $h->{pid} : '';
            next if $seen{"$h->{peer}\0$pid"}++;
            $gone{ $h->{peer} } = 1 unless $self->_pending_peer_active ($h->{peer}, $h->{pid});
         }
         if (%gone) {
            $self->poll (0);
            croak "peer(s) '" . join (", ", sort keys %gone) . "' went away while awaiting responses"
               if $self->have_pending_responses;
            last;
         }
      }
      croak "await_all_responses: timed out after ${timeout}s with pending responses"
         if defined $deadline && $now >= $deadline;
      $quiet = !$self->_wait_step ($own, $now, $deadline);
   }
   return;
}

with 'IPC::Manager::Role::Service::Requests', 'IPC::Manager::Role::Service::Select';

sub DESTROY {
   my $self = shift;
   my $client = $self->{client};
   # only the process that connected disconnects (a forked copy stays quiet)
   if ($client && ref $client && $client->can ('disconnect')
       && !$client->{disconnected} && (!$client->{pid} || $client->{pid} == $$)) {
      local ($@, $!, $?);
      eval { $client->disconnect; 1 } or warn $@;
   }
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Service::Handle - talking to a service from outside it

=head1 SYNOPSIS

   my $h = ipcm_service (echo => (handle_request => sub { $_[1]{request} }));

   my $resp = $h->sync_request (echo => "hi", 5);   # {ipcm_response_id, response}
   die $resp->{ipcm_error} if $resp->{ipcm_error};

   my $id = $h->send_request (echo => "later");
   my $r  = $h->await_response ($id, 5);

   $h->send_request (echo => $_, sub { my ($resp, $msg) = @_; ... }) for 1 .. 10;
   $h->await_all_responses (10);

   $h->poll (0);                 # take what arrived, without waiting
   my @notes = $h->messages;     # messages that were not responses

=head1 DESCRIPTION

A handle is a client of the service's bus with request bookkeeping. It
connects lazily, on first use, under its own name (C<ipcm_service> names
it C<service_parent_PID>). The handle returned by a top-level
C<ipcm_service> owns the bus in C<< $h->{spawn} >>: dropping it stops the
service and everything else on the bus.

=head1 METHODS

=over

=item new (service_name => $name, ipcm_info => $info, [name, interval, client])

Croaks C<'service_name' is a required attribute>, C<'ipcm_info' is a
required attribute>. Connects nothing.

=item $bool = $h->ready ([$timeout])

Whether the service is registered and running: undef checks once, 0 waits
forever, more waits up to that many seconds.

=item $pid = $h->service_pid, $pid = $h->child_pid

The pid the service registered, and the pid C<ipcm_service> forked (they
differ when C<post_fork> daemonises or interposes).

=item $id = $h->send_request ($peer, $request [, $cb])

The peer name is required. With C<$cb>, the response is given to
C<< $cb->($response, $message) >> when it arrives.

=item $response = $h->sync_request ($peer, $request [, $timeout])

Returns the whole response hash; an error of the service is in
C<< $response->{ipcm_error} >>, not thrown.

=item $response = $h->await_response ($id [, $timeout])

Croaks C<peer 'NAME' went away while awaiting response 'ID'> when the
service is gone (a process that exited but was not reaped counts as gone)
and C<await_response: timed out after Ns waiting for response 'ID'>.

=item $h->await_all_responses ([$timeout])

Until nothing is pending. Croaks C<peer(s) 'A, B' went away while
awaiting responses> or C<await_all_responses: timed out after Ns with
pending responses>.

=item @resp = $h->get_response ($id), have_pending_responses, pending_response_peer ($id)

=item $n = $h->poll ([$timeout])

Waits for messages (undef: until some arrive; 0: not at all), hands
responses to the bookkeeping and keeps the others in C<< $h->{buffer} >>.

=item @msgs = $h->messages

The buffered non-response messages, once.

=item client, name, service_name, ipcm_info, interval, set_interval, select

=back

On destruction the handle disconnects its client (only in the process
that connected it).

=cut
