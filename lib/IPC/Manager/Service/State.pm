package IPC::Manager::Service::State;

use strict;
use warnings;

use Carp qw(croak);
use POSIX ();
use Scalar::Util qw(blessed);
use IPC::Manager::Util qw(require_mod clone_io);

our $VERSION = '0.000038';

our $CURRENT;     # the service running in this process (set by run)
our $IN_RUNNER;   # true while a runner frame (the IPCM_SERVICE block) is on the stack
our $IN_WORKER;   # true inside a worker's code
our $NEXT;        # what the runner runs next: a service instance or worker code
our $OWNS_ROUTE;  # top-level service: the route it removes when its owner is gone
our $EARLY;       # [address of the service, its client built before the fork, name, ipcm_info]

my $ZERO = $0;

my ($BOOT, $BOOT_STATUS);

sub _orig_io {
   return {
      stderr => clone_io ('>&', \*STDERR),
      stdout => clone_io ('>&', \*STDOUT),
      stdin  => clone_io ('<&', \*STDIN),
   };
}

sub _current {
   return ($CURRENT && !$IN_WORKER && defined $CURRENT->pid && $CURRENT->pid == $$) ? $CURRENT : undef;
}

sub ipcm_service {
   my $name = shift;
   my %params;
   if (@_ == 1 && ref $_[0] eq 'CODE') {
      %params = (class => 'IPC::Manager::Service', on_all => $_[0]);
   }
   elsif (@_ == 2 && ref $_[0] eq 'HASH' && ref $_[1] eq 'CODE') {
      %params = (%{ $_[0] }, class => 'IPC::Manager::Service', on_all => $_[1]);
   }
   else {
      %params = @_;
      $params{class} = 'IPC::Manager::Service' unless defined $params{class};
   }
   $params{name} = $name;
   my $want = wantarray;

   croak "ipcm_service() cannot be called from inside a worker" if $IN_WORKER;

   my $exec     = delete $params{exec};
   my $new_ipcm = delete $params{new_ipcm};
   my $hparams  = delete $params{handle_params};
   my $own_hp   = !$hparams;
   $hparams ||= {};
   my $skip     = delete $params{skip_role_checks};

   croak "'new_ipcm' and 'ipcm_info' may not be combined" if $new_ipcm && $params{ipcm_info};

   my $parent = _current ();
   my $spawn;
   if ($parent) {
      $params{ipcm_info} = $parent->ipcm_info unless $new_ipcm || defined $params{ipcm_info};
      $params{orig_io} = $parent->orig_io if !$exec && !$params{orig_io} && $parent->orig_io;
      if (!exists $params{redirect}) {
         my $r = $parent->redirect;
         $params{redirect} = $r
            if defined $r && !(ref $r eq 'HASH' && exists $r->{inherit} && defined $r->{inherit} && !$r->{inherit});
      }
   }
   if (!defined $params{ipcm_info}) {
      croak "Cannot be called in void context without providing 'ipcm_info'" unless defined $want;
      require IPC::Manager;
      $spawn = IPC::Manager::ipcm_spawn ();
      $params{ipcm_info} = IPC::Manager::_spawn_info ($spawn);
      # the creating process is always watched (a user's own pids too)
      my %seen;
      $params{watch_pids} = [ grep !$seen{$_}++, ($parent ? $parent->pid : $$),
                              @{ ref $params{watch_pids} eq 'ARRAY' ? $params{watch_pids} : [] } ];
   }
   # decoded now, the connection string costs the child nothing (errors are
   # left to the child, as before)
   if (!ref $params{ipcm_info}) { local $@; eval { require IPC::Manager; IPC::Manager::_cinfo ($params{ipcm_info}, {}) } }

   my $class = $params{class};
   require_mod ($class);
   require Role::Tiny;
   croak "'$class' does not implement the 'IPC::Manager::Role::Service' role"
      unless $skip || Role::Tiny::does_role ($class, 'IPC::Manager::Role::Service');

   # the duplicates of STDERR, STDOUT and STDIN the service keeps: made by
   # the child, first thing after the fork, when nothing of the class's own
   # sees the parameters before (see _orig_io_later)
   my $oio_later = !$exec && !$params{orig_io} && _orig_io_later ($class);
   $params{orig_io} ||= _orig_io () unless $exec || $oio_later;

   my $timeout = $params{timeout} || 10;
   my $inst = $class->new (%params);
   $inst->pre_fork_hook;

   my $json;
   if ($exec) {
      require IPC::Manager::Serializer::JSON;
      my %p = %params;
      delete $p{orig_io};
      $p{exec} = { stay_in_begin => $exec->{stay_in_begin} ? 1 : 0 };
      $json = IPC::Manager::Serializer::JSON->serialize (\%p);
   }

   # After the fork, every page either process writes to first costs it a
   # copy-on-write fault (a page copy, and a TLB flush that may interrupt
   # the other processor): the two processes do as little as possible
   # until the service is ready. The parent's handle is built and
   # registered now (the child lets go of its descriptors); the service's
   # client is built now, unregistered, and when nothing of the service's
   # own runs before it registers (see _at_once) the child registers it
   # first thing, in one step in C.
   my $peer = $parent && !$new_ipcm;
   my $obj = !$peer && (defined $want || $exec) ? _handle_early ($inst, $hparams, $spawn) : undef;
   my $drop = $obj ? [ _fhs ($obj->{client}) ] : undef;
   # (defined: testing a Spawn for truth would stringify it, to JSON)
   my $owns = defined $spawn ? $spawn->route : undef;
   $EARLY = $exec ? undef : _early ($inst);
   my $reg = $EARLY && !$IN_RUNNER ? _at_once ($inst, $EARLY->[1]) : undef;
   my $release = $obj && $EARLY ? [ _fhs ($EARLY->[1]) ] : undef;
   my $wait = $obj ? _ready_wait ($obj, $timeout) : undef;
   my $pid_now = $obj && IPC::Manager::Util::_keeps ($obj, 'IPC::Manager::Service::Handle', '_set_child_pid');
   # the parent's copy of that client is freed with the handle (its
   # descriptors released at once), and so are the start-up's own arrays
   # and the parent's copy of the instance when freeing it later changes
   # nothing a program sees (see _quiet): freed when this returns, after
   # the fork, each page they lie on would be copied
   $obj->{_service_copy} = [$EARLY, (_quiet ($inst) ? $inst : undef), $drop, $release, $reg, $wait, ($own_hp ? $hparams : ())]
      if $obj;

   # the parameters live on in the instance; freed after the fork, they would
   # cost the parent copy-on-write faults while the child starts
   undef %params;

   # (the child registers, when it may, and both sides let go of the
   # descriptors that are not theirs, inside the fork's call: no Perl runs
   # in the child before the service is ready)
   my ($pid, $watch) = IPC::Manager::Core::fork_service ($reg, $drop, $release);
   if (!defined $pid) { $EARLY = undef; die "Could not fork: $!" }

   if ($pid) {
      $EARLY = undef;
      return if !defined $want && !$exec;
      $obj ||= $peer
         ? $parent->peer ($name, %$hparams)
         : $inst->handle (%$hparams, name => "service_parent_$$", (defined $spawn ? (spawn => $spawn) : ()));
      # what the parent has done with goes now, while the child starts,
      # rather than after it is ready (each page first written to after
      # the fork costs a fault): its copy of the instance (unless the handle
      # keeps it), the start-up's references, and, with the handle's own
      # method, the child's pid stored (the handle is returned only once
      # the service is ready)
      undef $_ for $inst, $spawn, $parent, $hparams, $drop, $reg, $release;
      undef %params;
      $obj->_set_child_pid ($pid) if $pid_now;
      # (0: the time is up; a pid: ready if the entry is there too)
      my $up = $wait ? IPC::Manager::Core::pidfile_wait (@$wait[0, 1], $wait->[3]) : undef;
      $up = $obj->ready ($timeout) unless defined $up && (!$up || $obj->{client}->_entry_ok ($wait->[2]));
      croak "Timeout waiting for service to come up after ${timeout}s" unless $up;
      $obj->_set_child_pid ($pid) unless $pid_now;
      return unless defined $want;
      return $obj;
   }

   # the child (registered already, if it may: its $0 set; the handle's
   # descriptors let go of)
   if ($reg) {
      @$EARLY[4, 5] = (defined $watch ? 1 : 0, $watch);
      # (a socket bound to a path removed again is of no use: a new one)
      delete $EARLY->[1]{_unbound} unless defined $watch;
   }
   # (the service's client is the service's alone: a worker that drops it
   # closes its descriptors)
   delete $obj->{_service_copy} if $obj;
   if ($oio_later) {
      # (the caller's three handles were checked: this fails only when the
      # child has no descriptor left)
      eval { $inst->{orig_io} = _orig_io (); 1 } or do { warn $@; POSIX::_exit (255) };
   }
   undef $release;
   $OWNS_ROUTE = $owns;
   $inst->post_fork_hook;
   if ($exec) {
      my @cmd = ($^X, @{ $exec->{cmd} || [] }, '-MIPC::Manager::Service::State', '-e',
                 'exit(IPC::Manager::Service::State::_post_exec_run())', $json);
      { exec { $cmd[0] } @cmd; }
      warn "ipcm_service: could not exec '$^X' ($!), running '$name' in the forked process\n";
   }
   return _ipcm_service ($inst);
}

# whether the child may make the service's orig_io: when the class has
# IPC::Manager::Service's constructor, init, orig_io and pre_fork_hook
# (nothing of its own sees the parameters before the fork), and STDERR,
# STDOUT and STDIN are plain handles with a descriptor (duplicating them
# cannot fail in the child where it succeeds in the parent)
sub _orig_io_later {
   my ($class) = @_;
   return 0 unless IPC::Manager::Util::_keeps ($class, 'IPC::Manager::Service', qw(new init orig_io pre_fork_hook));
   for (\*STDERR, \*STDOUT, \*STDIN) {
      return 0 if tied *$_;
      my $fd = fileno $_;
      return 0 unless defined $fd && $fd >= 0;
   }
   return 1;
}

# whether the parent may free its copy of the instance with the handle
# rather than right after the fork: when that changes nothing a program
# can see - the class has no destructor (or IPC::Manager::Service's, which
# does nothing in the parent) and no AUTOLOAD, and what the instance holds
# runs no code and closes nothing when freed (IPC::Manager::Core::free_is_quiet)
sub _quiet {
   my ($inst) = @_;
   my $d = $inst->can ('DESTROY');
   return 0 if $d && $d != (IPC::Manager::Service->can ("DESTROY") || 0);
   return 0 if $inst->can ('AUTOLOAD');
   return IPC::Manager::Core::free_is_quiet ($inst);
}

# what the ready check of a handle built before the fork does, as one
# wait in C: [pidfile, route watch, entry, timeout] when its client checks as ours
# does and has a route watch (undef: its ready method)
sub _ready_wait {
   my ($obj, $timeout) = @_;
   my $c = $obj->{client};
   return undef unless $c->{_peer_change} && ($c->can ('peer_active') || 0) == IPC::Manager::Client->can ('peer_active');
   my $path = $c->path ($obj->{service_name});
   # (the timeout as a number already: converted after the fork, it would
   # be written to)
   return ["$path.pid", $c->{_peer_change}, $path, 1.0 * $timeout];
}

# the file handles among a client's fields (its descriptors)
sub _fhs { my ($c) = @_; return grep { ref $_ eq 'GLOB' } values %$c }

# the top-level handle, built and registered before the fork when its
# class and its client's protocol are ours in what they do then (the
# child finds the client's descriptors among its fields): undef when it
# is to be built after the fork
sub _handle_early {
   my ($inst, $hparams, $spawn) = @_;
   my $H = 'IPC::Manager::Service::Handle';
   return undef unless IPC::Manager::Util::_keeps ($inst, 'IPC::Manager::Role::Service', 'handle');
   my ($proto) = do { local $@; eval { require IPC::Manager; IPC::Manager::_cinfo ($inst->ipcm_info, {}) } };
   return undef unless $proto && $proto->can ('_entry_kind');
   my $class = $inst->handle_class;
   require_mod ($class);
   return undef unless IPC::Manager::Util::_keeps ($class, $H, qw(new init client ready));
   my $obj = $inst->handle (%$hparams, name => "service_parent_$$", (defined $spawn ? (spawn => $spawn) : ()));
   $obj->client;
   return $obj;
}

# whether the forked service may register first thing: when what run does
# before it registers does nothing here (the role's run and try, no
# on_start callbacks, no post_fork hook, no signals to grab), and the
# client registers in one step; then [the step's arguments, the child's
# $0], else undef
sub _at_once {
   my ($inst, $client) = @_;
   my ($R, $S) = ('IPC::Manager::Role::Service', 'IPC::Manager::Service');
   my $keeps = \&IPC::Manager::Util::_keeps;
   return undef unless $keeps->($inst, $R, qw(run try in_correct_pid));
   return undef unless $keeps->($inst, $R, 'post_fork_hook')
                    || ($keeps->($inst, $S, 'post_fork_hook') && !$inst->{post_fork});
   return undef unless $keeps->($inst, $R, 'run_on_start')
                    || ($keeps->($inst, $S, 'run_on_start') && ref $inst->{on_start} eq 'ARRAY' && !@{ $inst->{on_start} });
   return undef if $inst->signals_to_grab;
   my @args = $client->_register_args or return undef;
   return [@args, _zero ($inst)];
}

# the child's $0
sub _zero { my ($inst) = @_; return ($inst->{rebase_0} ? $ZERO : $0) . " " . $inst->name }

# for a service whose client method is the role's: the client that method
# would connect, built with its descriptors open but not registered, as
# [address of the service, client, name, ipcm_info] (undef when that
# cannot be done: the connect after the fork does it then, and reports
# what fails)
sub _early {
   my ($inst) = @_;
   my $own = IPC::Manager::Role::Service->can ('client');
   return undef unless $own && ($inst->can ('client') || 0) == $own;
   my ($id, $info) = ($inst->name, $inst->ipcm_info);
   local $@;
   my $client = eval {
      require IPC::Manager;
      my ($proto, $ser, $route) = IPC::Manager::_cinfo ($info, \my %p);
      $proto->can ('_prepare') && $proto->_prepare ($id, $ser, $route, %p);
   };
   return $client ? [Scalar::Util::refaddr ($inst), $client, $id, $info] : undef;
}

sub ipcm_worker {
   my ($name, $cb) = @_;
   my $svc = _current ();
   croak "ipcm_service_worker() can only be called from inside a service" unless $svc;
   my $pid = fork;
   die "Could not fork: $!" unless defined $pid;
   if ($pid) {
      $svc->register_worker ($name, $pid);
      return $pid;
   }
   $0 .= " $name";
   # a worker started before its service registered (from on_start) keeps
   # no copy of the service's prepared client and its descriptors
   $EARLY = undef;
   croak "ipcm_worker: no IPCM_SERVICE jump point on the stack (worker invoked outside a running service?)"
      unless $IN_RUNNER;
   $NEXT = $cb;
   no warnings 'exiting';
   last IPCM_SERVICE;
}

sub _exit_with {
   my ($posix, $code) = @_;
   POSIX::_exit ($code) if $posix;
   exit ($code);
}

# the runner: runs a service instance (or, after an unwinding, whatever
# a nested ipcm_service or ipcm_worker left in $NEXT) and exits
sub _ipcm_service {
   my ($inst) = @_;
   if (blessed $inst) {
      $inst->set_pid ($$);
      # (a service that tried to register at once has its $0 already)
      $0 = _zero ($inst)
         unless $EARLY && defined $EARLY->[4] && $EARLY->[0] == Scalar::Util::refaddr ($inst);
   }
   if ($IN_RUNNER) {
      # leave every frame of the enclosing service: a loop exit, which no
      # eval can catch, and which runs the frames' scope-exit actions
      $NEXT = $inst;
      undef $inst;
      no warnings 'exiting';
      last IPCM_SERVICE;
   }
   croak "ipcm_service: previous service detected but no IPCM_SERVICE jump point on the stack"
      if $CURRENT;

   local $IN_RUNNER = 1;
   $NEXT = $inst;
   undef $inst;
   my $name = '';
   while (my $todo = $NEXT) {
      $NEXT = undef;
      IPCM_SERVICE: {
         if (ref $todo eq 'CODE') {
            local $IN_WORKER = 1;
            local $CURRENT;
            my $ret;
            my $ok = eval { $ret = $todo->(); 1 };
            if (!$ok) { warn $@; exit 255 }
            exit (defined $ret ? $ret : 0);
         }
         $name = $todo->name;
         my $posix = $todo->use_posix_exit;
         my $code;
         my $ok = eval { $code = $todo->run; 1 };
         if (!$ok) {
            warn $@;
            _exit_with ($posix, 255);
         }
         $code = 0 unless defined $code;
         _after_run ($todo) unless $posix;
         return $code if $todo->run_returns_to_caller;
         _exit_with ($posix, $code);
      }
   }
   warn "Scope leak in service '$name' process $$\n";
   POSIX::_exit (255);
}

# a top-level service whose owner is gone stops the rest of the bus and
# removes it: nobody else is left to do it
sub _after_run {
   my ($svc) = @_;
   my $client = $svc->{_CLIENT};
   my $route = $OWNS_ROUTE;
   my $owner_gone = $route && grep { !IPC::Manager::Util::pid_is_running ($_) } @{ $svc->watch_pids || [] };
   if ($owner_gone && $client && !$client->disconnected) {
      eval {
         my @pids = grep { $_ && $_ != $$ } map { $client->peer_pid ($_) } $client->peers;
         # the loop is over: nobody would send what a non-blocking send queues
         $client->drain_pending;
         $client->set_send_blocking (1);
         $client->broadcast ({ terminate => 1 });
         my $deadline = Time::HiRes::time () + 10;
         while ($client->peers && Time::HiRes::time () < $deadline) {
            $client->_wait_peer_change (0.05);
         }
         # a client leaves its entry first and writes its statistics last:
         # wait for the processes themselves before removing the route
         while (Time::HiRes::time () < $deadline
                && grep { IPC::Manager::Util::pid_is_running ($_) } @pids) {
            Time::HiRes::sleep (0.01);
         }
         1;
      };
   }
   if ($client && !$client->disconnected && $client->pid == $$) {
      eval { $client->disconnect; 1 } or warn $@;
   }
   $client->unspawn ($route) if $owner_gone && $client;
   return;
}

sub import {
   my $class = shift;
   return unless caller () eq 'main' && $0 eq '-e' && @ARGV == 1 && $ARGV[0] =~ /^\{/;
   require IPC::Manager::Serializer::JSON;
   my $params = IPC::Manager::Serializer::JSON->deserialize (shift @ARGV);
   my $exec = delete $params->{exec} || {};
   $params->{orig_io} = _orig_io ();
   my $sclass = $params->{class} || 'IPC::Manager::Service';
   require_mod ($sclass);
   my $inst = $sclass->new (%$params);
   if ($exec->{stay_in_begin}) {
      $BOOT_STATUS = 255;
      _ipcm_service ($inst);
      $BOOT_STATUS = 0;
   }
   else {
      $BOOT = sub { _ipcm_service ($inst); return 0 };
   }
   return;
}

sub _post_exec_run {
   return $BOOT->() if $BOOT;
   return $BOOT_STATUS if defined $BOOT_STATUS;
   return 255;
}

require Time::HiRes;
require IPC::Manager::Util;

1;
__END__

=head1 NAME

IPC::Manager::Service::State - ipcm_service, ipcm_worker, the runner and the exec boot module

=head1 SYNOPSIS

   use IPC::Manager qw(ipcm_service ipcm_worker);   # the same subs

   # what exec mode runs in the child:
   # perl ARGS -MIPC::Manager::Service::State \
   #    -e 'exit(IPC::Manager::Service::State::_post_exec_run())' JSON

=head1 DESCRIPTION

Implements C<ipcm_service> and C<ipcm_worker> (documented in
L<IPC::Manager>) and the runner C<_ipcm_service>, an ordinary Perl sub at
the bottom of every service process's stack: it runs the service's C<run>
inside an C<eval>, warns and exits 255 if it dies, and otherwise exits
with its value (through C<POSIX::_exit> with C<use_posix_exit>), or
returns it when the class's C<run_returns_to_caller> is true. A nested
service or worker started in a running service leaves the enclosing
service's stack with a loop exit to the runner's labelled block
(C<IPCM_SERVICE>), which then runs the new instance or the worker's code.

In exec mode the child runs a fresh perl with this module as boot module:
its C<import> takes the JSON parameters from C<@ARGV>, builds the service
instance and either runs it at once (C<stay_in_begin>) or leaves that to
C<_post_exec_run>, which returns 255 when nothing was set up.

Errors: C<ipcm_service_worker() can only be called from inside a
service>, C<ipcm_worker: no IPCM_SERVICE jump point on the stack (worker
invoked outside a running service?)>, C<ipcm_service: previous service
detected but no IPCM_SERVICE jump point on the stack>, C<Cannot be called
in void context without providing 'ipcm_info'>, C<'new_ipcm' and
'ipcm_info' may not be combined>, C<'CLASS' does not implement the
'IPC::Manager::Role::Service' role>, C<Timeout waiting for service to come
up after Ns>, C<Could not fork: ...>; warning C<Scope leak in service
'NAME' process PID>.

=head2 Start-up

After the fork, each process pays a copy-on-write fault (a page copy and
a TLB flush) for every page it is first to write to, so C<ipcm_service>
does what it can before the fork. A top-level handle is built, and its
client registered, before the fork when its class does what
L<IPC::Manager::Service::Handle> does there; the child lets go of the
handle's descriptors at once (they become F</dev/null> in the child, so the
service never holds the handle's socket). The service's client is built
before the fork too, unregistered (the parent lets go of its descriptors
likewise). When nothing of the service's own runs before it would
register - the role's C<run>, C<try> and C<in_correct_pid>, no C<on_start>
callbacks, no C<post_fork> hook, no signals to grab, a top-level service
(not nested, no exec) - the child sets its C<$0> and registers its entry
and pidfile inside the call that forks it, before it runs any Perl
(C<IPC::Manager::Core::fork_service>; a MessageFiles service gets its
folder's watch in that step too, before the pidfile, so that a request
sent the moment it is ready wakes it); otherwise it registers when C<run>
first uses its client, as described in L<IPC::Manager::Service>.
Readiness is the same either way: the entry and a pidfile naming a live
process. The parent waits for it in one call into the C core, woken by the
route's watch.

When the class has L<IPC::Manager::Service>'s constructor, C<init>,
C<orig_io> and C<pre_fork_hook>, the child makes the service's C<orig_io>
(its duplicates of STDERR, STDOUT and STDIN) right after the fork, before
anything of the service runs, rather than the caller before it; the
handles are the same. The caller's copy of the instance is freed with the
top-level handle rather than right after the fork when freeing it later
makes no difference a program can see (the class has no destructor but
IPC::Manager::Service's, which does nothing in the caller, no C<AUTOLOAD>,
and the instance holds no object, tie, weakly referred data, file handle
of its own or closure: C<IPC::Manager::Core::free_is_quiet>); otherwise,
as when a callback given is a closure (which may hold an object), it goes
when C<ipcm_service> returns.

=cut
