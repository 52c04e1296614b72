package IPC::Manager::Role::Service;

use strict;
use warnings;

use Carp qw(croak);
use POSIX ();
use Time::HiRes ();
use Scalar::Util qw(weaken refaddr);
use Config ();
use Role::Tiny;
use IPC::Manager::Util ();
use IPC::Manager::Core ();
# (loaded here: the calls below to its functions would make Role::Tiny
# take it for loaded)
use IPC::Manager::Role::Service::Requests ();

our $VERSION = '0.000038';

with 'IPC::Manager::Role::Service::Requests', 'IPC::Manager::Role::Service::Select';

requires qw(new orig_io name ipcm_info pid set_pid watch_pids handle_request);

# signal names to numbers, from Config's signal lists: read on first use
# (a service that grabs signals), since they load a large part of Config;
# not a sub, which the role would give every service class
my %SIGNUM;
my $signum = sub {
   if (!%SIGNUM) {
      my @names = split ' ', $Config::Config{sig_name};
      my @nums  = split ' ', $Config::Config{sig_num};
      @SIGNUM{@names} = @nums;
   }
   return $SIGNUM{ $_[0] };
};

# defaults a class may override
sub cycle                 { 0.2 }
sub interval              { 0.2 }
sub use_posix_exit        { 0 }
sub intercept_errors      { 0 }
sub expose_error_details  { 0 }
sub run_returns_to_caller { 0 }
sub signals_to_grab       { () }
sub redirect              { return }
sub pre_fork_hook         { return }
sub post_fork_hook        { return }
sub peer_class            { 'IPC::Manager::Service::Peer' }
sub handle_class          { 'IPC::Manager::Service::Handle' }

sub run_on_all            { [] }
sub run_on_cleanup        { [] }
sub run_on_general_message { [] }
sub run_on_interval       { [] }
sub run_on_peer_delta     { [] }
sub run_on_pid            { [] }
sub run_on_start          { [] }
sub run_on_sig            { [] }
sub run_should_end        { 0 }

sub run_on_unhandled {
   my ($self, $activity) = @_;
   my @keys = sort keys %{ $activity || {} } or return [];
   die "Failed to handle activity: " . join (", ", @keys) . "\n";
}

sub client {
   my $self = shift;
   return $self->{_CLIENT} if $self->{_CLIENT};
   # a client ipcm_service built for this service before forking it
   # (see there): registered now, it is what connect would give
   if (my $early = $IPC::Manager::Service::State::EARLY) {
      $IPC::Manager::Service::State::EARLY = undef;
      return $self->{_CLIENT} = $early->[1]->_register_later (@$early[4, 5])
         if $early->[0] == refaddr ($self) && $early->[2] eq $self->name && $early->[3] eq $self->ipcm_info;
   }
   require IPC::Manager;
   return $self->{_CLIENT} = IPC::Manager->connect ($self->name, $self->ipcm_info);
}

sub in_correct_pid {
   my $self = shift;
   my $pid = $self->pid;
   croak "Incorrect PID (did your fork leak? <$$> vs <" . (defined $pid ? $pid : '') . ">)"
      unless defined $pid && $pid == $$;
   return 1;
}

sub pid_is_running { IPC::Manager::Util::pid_is_running ($_[1]) }

sub peer {
   my ($self, $name, %params) = @_;
   croak "peer() can only be called on the service in the service process"
      unless defined $self->pid && $self->pid == $$;
   return $self->{_PEER_CACHE}{$name} ||= do {
      my $class = $self->peer_class;
      IPC::Manager::Util::require_mod ($class);
      $class->new (%params, name => $name, service => $self);
   };
}

sub handle {
   my ($self, %params) = @_;
   croak "'name' is a required parameter" unless defined $params{name};
   my $class = $self->handle_class;
   IPC::Manager::Util::require_mod ($class);
   return $class->new (%params, service_name => $self->name, ipcm_info => $self->ipcm_info);
}

sub peer_delta {
   my ($self, %p) = @_;
   my %now = map { $_ => 1 } $self->client->peers;
   my $old = $self->{_PEER_STATE} || {};
   my %delta;
   $delta{$_} = 1  for grep !$old->{$_}, keys %now;
   $delta{$_} = -1 for grep !$now{$_}, keys %$old;
   $self->{_PEER_STATE} = \%now unless $p{peek};
   return \%delta;
}

sub send_response {
   my ($self, $peer, $id, $value, $err) = @_;
   my $client = $self->client;
   # (a client of this distribution builds the message directly, the
   # content too when there is no error)
   my $quick = $client->can ('_send_quick');
   if ($quick && !defined $err) { $client->$quick ($peer, $value, $id, 1) }
   elsif ($quick) { $client->$quick ($peer, IPC::Manager::Role::Service::Requests::_response_content ($id, $value, $err)) }
   else { $client->send_message ($peer, IPC::Manager::Role::Service::Requests::_response_content ($id, $value, $err)) }
   return;
}

sub terminate {
   my $self = shift;
   if (@_) {
      my $v = shift;
      $self->{_TERMINATED} = $v if $v || !defined $self->{_TERMINATED};
   }
   else {
      $self->{_TERMINATED} = 0 unless defined $self->{_TERMINATED};
   }
   return $self->{_TERMINATED};
}

sub terminated    { $_[0]->{_TERMINATED} }
sub is_terminated { defined $_[0]->{_TERMINATED} ? 1 : 0 }

sub workers { $_[0]->{_WORKERS} }

sub register_worker {
   my ($self, $name, $pid) = @_;
   $self->{_WORKERS}{$pid} = $name;
   return;
}

sub reap_workers {
   my ($self, %p) = @_;
   my $w = $self->{_WORKERS} or return {};
   my %out;
   local $?;
   for my $pid (keys %$w) {
      my $r = waitpid ($pid, POSIX::WNOHANG ());
      if ($r == $pid || $r < 0) {
         $out{$pid} = { name => delete $w->{$pid}, exit => $r == $pid ? $? : undef };
      }
      elsif ($p{kill}) {
         kill $p{kill}, $pid;
      }
   }
   return \%out;
}

sub terminate_workers {
   my $self = shift;
   my $w = $self->{_WORKERS} or return;
   return unless %$w;
   $self->reap_workers (kill => 'TERM');
   my $next_kill = Time::HiRes::time () + 15;
   while (%$w) {
      Time::HiRes::sleep (0.05);
      my $kill;
      if (Time::HiRes::time () >= $next_kill) { $kill = 'KILL'; $next_kill += 15 }
      $self->reap_workers ($kill ? (kill => $kill) : ());
   }
   return;
}

sub reap_children {
   my $self = shift;
   my %out;
   local $?;
   while ((my $pid = waitpid (-1, POSIX::WNOHANG ())) > 0) {
      $self->_reaped ($pid, $?, \%out);
   }
   return \%out;
}

sub _reaped {
   my ($self, $pid, $status, $out) = @_;
   if ($self->{_WORKERS} && exists $self->{_WORKERS}{$pid}) {
      delete $self->{_WORKERS}{$pid};
      return;
   }
   $out->{$pid} = $status;
   return;
}

sub debug {
   my ($self, @msg) = @_;
   my $io = $self->orig_io || {};
   my $fh = $io->{stderr} || $io->{stdout} || \*STDERR;
   print $fh @msg;
   # the handle is a private duplicate: flush it, or the text waits there
   my $old = select ($fh); $| = 1; select ($old);
   return;
}

sub try {
   my ($self, $cb) = @_;
   if (!$self->intercept_errors) {
      my $out = $cb->();
      return { ok => 1, err => '', out => $out };
   }
   my $out;
   my $ok = eval { $out = $cb->(); 1 };
   return { ok => 1, err => '', out => $out } if $ok;
   my $err = $@;
   $self->debug ("Peer '" . $self->name . "' caught exception: $err");
   warn $err;
   return { ok => 0, err => $err };
}

sub clear_service_fields {
   my $self = shift;
   delete @$self{qw(_CLIENT _LAST_INTERVAL _ORIG_SIG _PEER_CACHE _PEER_STATE _SIGS_SEEN _TERMINATED _WORKERS)};
   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return;
}

sub select_write {
   my $self = shift;
   my $client = $self->client;
   return undef unless $client->have_writable_handles;
   require IO::Select;
   return IO::Select->new ($client->writable_handles);
}

# one event loop per process (a forked child makes its own)
my ($LOOP, $LOOP_PID);
sub _loop {
   my $pid = IPC::Manager::Core::pid ();
   ($LOOP, $LOOP_PID) = (IPC::Manager::Core::Loop->new, $pid) unless $LOOP && $LOOP_PID == $pid;
   return $LOOP;
}

# what the wait step needs that stays the same while run runs, looked up
# once: the client and the loop, the grabbed signals (a signal added later
# gets no handler either), cycle and interval (read-only), the route's
# watch, and the client's message handles unless the protocol changes them
sub _watch_ctx {
   my $self = shift;
   my $client = $self->client;
   my @grab = $self->signals_to_grab;
   my @pc = $client->handles_for_peer_change;
   my $select = $client->have_handles_for_select;
   my $dyn = $client->have_dynamic_handles_for_select;
   return {
      client => $client, loop => _loop (), grab => \@grab,
      sigs => [grep defined, map $signum->($_), @grab],
      cycle => $self->cycle, interval => $self->interval,
      select => $select, dyn => $dyn, pc => \@pc, pcfd => { map { fileno ($_) => 1 } @pc },
      rfds => $select && !$dyn ? [$client->handles_for_select] : undef,
   };
}

# one wait step: returns the activity hash (empty on a quiet timeout)
sub watch {
   my $self = shift;
   return $self->_watch ($self->_watch_ctx);
}

sub _watch {
   my ($self, $ctx) = @_;
   my ($client, $loop, $grab, $sigs, $pc, $pcfd) = @$ctx{qw(client loop grab sigs pc pcfd)};
   my ($cycle, $interval, $select, $dyn) = @$ctx{qw(cycle interval select dyn)};
   my $watch = $self->watch_pids || [];
   my $before = $self->{_TERMINATED};

   while (1) {
      my %act;
      # (a destination with a backlog is one to wait for)
      my @w;
      if ($client->have_pending_sends) {
         $client->drain_pending;
         @w = $client->writable_handles if $client->have_writable_handles;
      }

      my $timeout = $cycle;
      my $left = ($self->{_LAST_INTERVAL} || 0) + $interval - Time::HiRes::time ();
      $timeout = $left if $left < $timeout;
      $timeout = 0 if $timeout < 0;
      my $buffered = $client->_buffered;
      $timeout = 0 if $buffered;
      my @r = (($select ? ($ctx->{rfds} ? @{ $ctx->{rfds} } : $client->handles_for_select) : ()), @$pc);

      # (the result holds only what happened)
      my $res = $loop->wait (\@r, \@w, $sigs, $watch, 1, $timeout, 1);
      my ($changed, $msgs, $ready) = (0, !$select || $buffered, $res->{r} || []);
      for (@$ready) { if ($pcfd->{ fileno $_ }) { $changed = 1 } else { $msgs = 1 } }

      if (my $reaped = $res->{reaped}) {
         my %pids;
         $self->_reaped ($_, $reaped->{$_}, \%pids) for keys %$reaped;
         $act{pids} = \%pids if %pids;
      }
      if (my $got = $res->{sigs}) {
         for my $num (keys %$got) {
            my ($name) = grep { ($signum->($_) || 0) == $num } @$grab;
            $self->{_SIGS_SEEN}{$name} += $got->{$num} if defined $name;
         }
      }
      $client->drain_pending if $res->{w};
      $client->reset_handles_for_peer_change if $changed;

      if ($msgs) {
         # (a protocol with many handles reads only the readable ones)
         if ($dyn) {
            my $bits = '';
            vec ($bits, fileno $_, 1) = 1 for @$ready;
            $client->{_rready} = $bits;
         }
         my @msgs = $client->get_messages;
         $act{messages} = \@msgs if @msgs;
      }
      if ($self->{_SIGS_SEEN} && %{ $self->{_SIGS_SEEN} }) {
         $act{sigs} = { %{ $self->{_SIGS_SEEN} } };
         %{ $self->{_SIGS_SEEN} } = ();
      }
      my $tick = Time::HiRes::time () - ($self->{_LAST_INTERVAL} || 0) >= $interval;
      # the peer set is rescanned when the route changed (the route watch
      # fired), on every tick, and always without a route watch
      if ($tick || !@$pc || $changed) {
         my $delta = $self->peer_delta;
         $act{peer_delta} = $delta if %$delta;
      }
      $act{interval} = 1 if $tick;
      $act{pid_watch} = 1 if $res->{gone} || (($tick || !@$pc) && grep { !IPC::Manager::Util::pid_is_running ($_) } @$watch);
      my $now = $self->{_TERMINATED};
      $act{terminated} = { value => $now }
         if (defined $now) != (defined $before) || (defined $now && $now ne $before);
      return \%act if %act;
   }
}

sub run {
   my $self = shift;
   $self->in_correct_pid;

   my @grab = $self->signals_to_grab;
   $self->{_SIGS_SEEN} = {};
   my $seen = $self->{_SIGS_SEEN};
   # counting handlers; the previous ones come back when run ends, and a
   # child that leaves this frame (nested service, worker) gets them back too
   local @SIG{@grab} = map { my $n = $_; sub { $seen->{$n}++ } } @grab;
   # writes to a vanished peer fail with an error instead of killing us
   local $SIG{PIPE} = $SIG{PIPE};
   $SIG{PIPE} = 'IGNORE' unless grep $_ eq 'PIPE', @grab;

   local $IPC::Manager::Service::State::CURRENT = $self;

   # the role's methods the loop uses, and whether the class kept them
   my %own = map { $_ => IPC::Manager::Util::_keeps ($self, __PACKAGE__, $_) } qw(watch try is_terminated send_response);
   # without intercepted errors, try only calls its argument: the steps
   # are called directly then (unless a class has its own try)
   my $start = ($own{try} && !$self->intercept_errors)
      ? do { $self->run_on_start; { ok => 1 } }
      : $self->try (sub { $self->run_on_start; 1 });
   my $client = $self->client;
   $client->set_send_blocking (0);
   die "Exception in process startup, aborting\n" unless $start->{ok};

   $self->peer_delta;
   $self->{_LAST_INTERVAL} = Time::HiRes::time ();

   # what the loop looks up once (see _watch_ctx, _dispatch)
   my $ctx = $self->_watch_ctx;
   my $quick = $own{send_response} && $client->can ('_send_quick');
   @$ctx{qw(held quick handler all end)} = ($client->can ('_flush_held'), $quick,
      $self->_request_handler, $self->_hook_callbacks ('run_on_all'), $self->_hook_callbacks ('run_should_end'));

   until ($own{is_terminated} ? defined $self->{_TERMINATED} : $self->is_terminated) {
      my $direct = $own{try} && !$self->intercept_errors;
      my $act;
      if ($direct) {
         $act = $own{watch} ? $self->_watch ($ctx) : $self->watch;
         # the usual activity: messages only
         if ($act->{messages} && keys %$act == 1) {
            my ($all, $end) = @$ctx{qw(all end)};
            $self->run_on_all ($act) if !$all || @$all;
            $self->_dispatch_all ($act->{messages}, 1, $ctx);
            $self->terminate (0) if (!$end || @$end) && $self->run_should_end;
            next;
         }
      }
      else {
         my $w = $self->try (sub { $own{watch} ? $self->_watch ($ctx) : $self->watch });
         next unless $w->{ok};
         $act = $w->{out};
      }
      last unless $self->_process ($act, $direct, $ctx);
   }

   $self->try (sub { $self->run_on_cleanup; 1 });
   $client = $self->client;
   my $deadline = Time::HiRes::time () + 5;
   while ($client->have_pending_sends && Time::HiRes::time () < $deadline) {
      $client->drain_pending;
      my @w = $client->writable_handles or last;
      my $win = '';
      vec ($win, fileno $_, 1) = 1 for @w;
      select (undef, $win, undef, 0.05);
   }
   $self->terminate_workers;
   my $t = $self->terminated;
   return defined $t ? $t : 0;
}

# the callbacks behind a hook method (run_on_all, run_should_end) when
# the loop may skip calling it while they are none (see
# IPC::Manager::Service), or undef: always called. The role's own no-op
# defaults call none.
sub _hook_callbacks {
   my ($self, $m) = @_;
   return IPC::Manager::Util::_keeps ($self, __PACKAGE__, $m) ? [] : undef;
}

# what the loop calls for a request, as ->($self, $content, $msg): the
# class's handle_request
sub _request_handler { $_[0]->can ('handle_request') }

# dispatches one activity, each step through try (the messages directly
# when try would only call); false when the loop must end at once
sub _process {
   my ($self, $act, $direct, $ctx) = @_;
   my %left = %$act;

   $self->try (sub { $self->run_on_all ($act); 1 });

   if (my $sigs = delete $left{sigs}) {
      for my $sig (sort keys %$sigs) {
         $self->try (sub { $self->run_on_sig ($sig); 1 });
      }
   }
   if (my $pids = delete $left{pids}) {
      for my $pid (sort { $a <=> $b } keys %$pids) {
         $self->try (sub { $self->run_on_pid ($pid, $pids->{$pid}); 1 });
      }
   }
   if (delete $left{pid_watch}) {
      $self->terminate (0);
      return 0;
   }
   if (delete $left{interval}) {
      $self->try (sub { $self->run_on_interval; 1 });
      $self->{_LAST_INTERVAL} = Time::HiRes::time ();
   }
   if (my $delta = delete $left{peer_delta}) {
      $self->try (sub {
         $self->client->peer_left ($_) for grep $delta->{$_} < 0, keys %$delta;
         $self->run_on_peer_delta ($delta);
         1;
      });
   }
   if (my $msgs = delete $left{messages}) {
      $self->_dispatch_all ($msgs, $direct, $ctx);
   }
   delete $left{terminated};
   $self->try (sub { $self->run_on_unhandled (\%left); 1 }) if %left;
   $self->try (sub { $self->terminate (0) if $self->run_should_end; 1 });
   return 1;
}

# a batch of messages; what the handlers send leaves together afterwards
# (one write per connection where the protocol can hold sends back; a
# handler that dies leaves them to the loop's next drain)
sub _dispatch_all {
   my ($self, $msgs, $direct, $ctx) = @_;
   my ($client, $held) = @$ctx{qw(client held)};
   {
      local $client->{_hold} = 1 if $held;
      if ($direct) {
         $self->_dispatch ($_, $ctx) for @$msgs;
      }
      else {
         for my $msg (@$msgs) {
            $self->try (sub { $self->_dispatch ($msg, $ctx); 1 });
         }
      }
   }
   $client->$held if $held;
   return;
}

sub _dispatch {
   my ($self, $msg, $ctx) = @_;
   my $c = $msg->{content};
   if (ref $c ne 'HASH') {
      $self->run_on_general_message ($msg);
      return;
   }
   $self->terminate (0) if $c->{terminate};
   if ($c->{ipcm_request_id}) {
      my @out;
      if (!eval { @out = $ctx->{handler}->($self, $c, $msg); 1 }) {
         my $err = $@;
         $self->send_response ($msg->{from}, $c->{ipcm_request_id}, undef,
            $self->expose_error_details ? "$err" : 'Internal service error');
         return;
      }
      return unless @out;
      croak "Incorrect number of responses to request" if @out > 1;
      # (send_response, when the class kept it, and the client builds the
      # message directly, its content too)
      if (my $quick = $ctx->{quick}) {
         $ctx->{client}->$quick ($msg->{from}, $out[0], $c->{ipcm_request_id}, 1);
      }
      else {
         $self->send_response ($msg->{from}, $c->{ipcm_request_id}, $out[0]);
      }
      return;
   }
   if ($c->{ipcm_response_id}) {
      $self->handle_response ($c, $msg);
      return;
   }
   $self->run_on_general_message ($msg);
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Role::Service - the role every service class does (Role::Tiny)

=head1 SYNOPSIS

   package My::Service;
   use Role::Tiny::With;

   sub new { my ($class, %p) = @_; bless {%p}, $class }
   sub name { $_[0]{name} }  sub ipcm_info { $_[0]{ipcm_info} }  sub orig_io { $_[0]{orig_io} }
   sub pid { $_[0]{pid} }    sub set_pid { $_[0]{pid} = $_[1] } sub watch_pids { $_[0]{watch_pids} }
   sub handle_request { my ($self, $req) = @_; return scalar reverse $req->{request} }

   with 'IPC::Manager::Role::Service';

   # elsewhere
   my $h = ipcm_service (rev => (class => 'My::Service'));

=head1 DESCRIPTION

The role supplies the service loop (C<run>), the request bookkeeping
(L<IPC::Manager::Role::Service::Requests>), the cached select
(L<IPC::Manager::Role::Service::Select>) and every method of
L<IPC::Manager::Service/"Inside the service">. A class must provide C<new
orig_io name ipcm_info pid set_pid watch_pids handle_request>, and may
override the defaults: C<cycle> and C<interval> (0.2), C<use_posix_exit>,
C<intercept_errors>, C<expose_error_details>, C<run_returns_to_caller>
(0), C<signals_to_grab> (none), C<redirect>, C<pre_fork_hook>,
C<post_fork_hook>, C<peer_class>, C<handle_class>, and the hooks
C<run_on_all>, C<run_on_start>, C<run_on_interval>, C<run_on_peer_delta>,
C<run_on_pid>, C<run_on_general_message>, C<run_on_sig>,
C<run_on_cleanup> (no-ops), C<run_should_end> (false) and
C<run_on_unhandled> (dies C<Failed to handle activity: KEYS>).

The role's C<handle_response> matches responses to this service's own
requests (callback or store).

=head2 The wait step

C<watch> hands the wait to the C core: one libevent call waits for the
client's message handles, the route's watch (peers joining or leaving),
writable destinations with queued messages, the grabbed signals, exited
children (reaped with their raw status) and the watched pids (through
pidfds where the kernel has them), bounded by C<cycle> and the next
C<interval> tick. Perl callbacks are never called from C: the wait
returns, and the loop dispatches.

Each wake-up takes every message that has arrived, and the handlers'
sends over ConnectionUnix leave together once the batch is dispatched
(one write per connection). When C<intercept_errors> is off (and the class
keeps the role's C<try>), the steps are called directly, without a
closure per step.

=head2 What run looks up once

C<run> looks up once, when it starts, what cannot change while it runs:
the client and its message handles (but ConnectionUnix's, which come and
go), C<cycle> and C<interval> (read-only), C<signals_to_grab> (a signal
added later gets no handler either), the method a request goes to (for
L<IPC::Manager::Service>, the C<handle_request> callback itself), and
whether the class has its own C<watch>, C<send_response>,
C<is_terminated>, C<run_on_all> and C<run_should_end>. A class's own
methods are called as before; the role's no-op hooks, and
IPC::Manager::Service's C<run_on_all> and C<run_should_end> while their
callback lists are empty, are skipped. Those lists are read at every
step: callbacks added while the service runs (C<push_on_all>,
C<push_should_end>) are called from the next step on. C<watch_pids>,
C<intercept_errors> and C<expose_error_details> are read at every step
too. The public C<watch> method looks everything up at each call.

=head2 run_returns_to_caller

When true and C<run> returns normally, the runner returns the exit code
to its caller instead of exiting (used with exec mode's C<stay_in_begin>).

=cut
