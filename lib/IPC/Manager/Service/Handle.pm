package IPC::Manager::Service::Handle;

use strict;
use warnings;

use Carp qw(croak);
use Time::HiRes ();
use IPC::Manager::Util qw(uuid pid_is_running tinysleep);
use Role::Tiny::With;

our $VERSION = '0.000038';

sub new {
   my $class = shift;
   my %p = (@_ == 1 && ref $_[0] eq 'HASH') ? %{$_[0]} : @_;
   my $self = bless {%p}, $class;
   $self->init;
   return $self;
}

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

for my $f (qw(name service_name ipcm_info child_pid)) {
   no strict 'refs';
   *$f = sub { $_[0]->{$f} };
}
sub interval     { $_[0]->{interval} }
sub set_interval { $_[0]->{interval} = $_[1] }
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

sub poll {
   my ($self, $timeout) = @_;
   my $client = $self->client;
   my $deadline = defined $timeout ? Time::HiRes::time () + $timeout : undef;
   my @msgs;
   while (1) {
      my $sel = $self->select;
      if ($sel) {
         my $left = defined $deadline ? $deadline - Time::HiRes::time () : undef;
         $left = 0 if defined $left && $left < 0;
         my @ready = $sel->can_read ($left);
         @msgs = $client->get_messages if @ready || $client->ready_messages;
      }
      else {
         @msgs = $client->get_messages;
      }
      last if @msgs;
      last if defined $deadline && Time::HiRes::time () >= $deadline;
      tinysleep ($self->{interval}) unless $sel;
      last if defined $timeout && $timeout == 0;
   }
   return unless @msgs;
   for my $m (@msgs) {
      my $c = $m->content;
      if (ref $c eq 'HASH' && $c->{ipcm_response_id}) { $self->handle_response ($c, $m) }
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
   return $self->await_response ($id, $timeout);
}

sub _wait_step {
   my ($self, $deadline) = @_;
   my $t = $self->{interval};
   if (defined $deadline) {
      my $left = $deadline - Time::HiRes::time ();
      $t = $left if $left < $t;
      $t = 0 if $t < 0;
   }
   return $self->poll ($t);
}

sub await_response {
   my ($self, $id, $timeout) = @_;
   my $deadline = defined $timeout ? Time::HiRes::time () + $timeout : undef;
   my $checked = 1;
   while (1) {
      my @r = $self->get_response ($id);
      return $r[0] if @r;
      # the peer's liveness is looked at when a wait step brought nothing
      my ($peer, $pid) = $self->pending_response_peer ($id);
      unless ($checked++ || $self->_pending_peer_active ($peer, $pid)) {
         $self->poll (0);
         @r = $self->get_response ($id);
         return $r[0] if @r;
         croak "peer '$peer' went away while awaiting response '$id'";
      }
      croak "await_response: timed out after ${timeout}s waiting for response '$id'"
         if defined $deadline && Time::HiRes::time () >= $deadline;
      $checked = 0 unless $self->_wait_step ($deadline);
   }
}

sub await_all_responses {
   my ($self, $timeout) = @_;
   my $deadline = defined $timeout ? Time::HiRes::time () + $timeout : undef;
   my $quiet = 1;
   while ($self->have_pending_responses) {
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
         if defined $deadline && Time::HiRes::time () >= $deadline;
      $quiet = !$self->_wait_step ($deadline);
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
