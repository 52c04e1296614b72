package IPC::Manager::Spawn;

use strict;
use warnings;

use Carp qw(croak);
use POSIX ();
use Time::HiRes ();
use IPC::Manager::Util qw(require_mod pid_is_running);
use IPC::Manager::Base ();
use IPC::Manager::Core ();
our @ISA = ('IPC::Manager::Base');

use overload '""' => sub { $_[0]->info }, fallback => 1;

our $VERSION = '0.000038';

sub init {
   my $self = shift;
   croak "'protocol' is a required attribute"   unless $self->{protocol};
   croak "'route' is a required attribute"      unless defined $self->{route};
   croak "'serializer' is a required attribute" unless $self->{serializer};
   $self->{pid} = $$ unless $self->{pid};
   $self->{guard} = 1 unless exists $self->{guard};
   return;
}

__PACKAGE__->_accessors (ro => [qw(protocol route serializer guard stash pid signal)],
                         rw => [qw(do_sanity_check debug)]);

sub info {
   my $self = shift;
   my $ser = ref ($self->{serializer}) || $self->{serializer};
   require IPC::Manager::Serializer::JSON;
   return IPC::Manager::Serializer::JSON->serialize ([$self->{protocol}, $ser, $self->{route}]);
}

sub connect {
   my ($self, $id, %p) = @_;
   return $self->{protocol}->connect ($id, $self->{serializer}, $self->{route}, %p);
}

sub terminate {
   my ($self, $con) = @_;
   $con ||= $self->connect ('spawn');
   if (my $sig = $self->{signal}) {
      for my $peer ($con->peers) {
         my $pid = $con->peer_pid ($peer);
         kill $sig, $pid if $pid && $pid != $$;
      }
   }
   $con->broadcast ({ terminate => 1 });
   return;
}

sub wait {
   my $self = shift;
   my $con = (@_ % 2) ? shift : undef;
   my %p = @_;
   my $route = $self->{route};
   for my $c ($self->{protocol}->local_clients ($route)) {
      next if $con && $c == $con;
      next if $c->{disconnected} || $c->{pid} != $$;
      eval { $c->disconnect; 1 } or warn $@;
   }
   $con ||= $self->connect ('spawn');
   my $timeout = $p{peer_timeout};
   $timeout = $ENV{IPC_MANAGER_SPAWN_PEER_TIMEOUT} unless defined $timeout;
   $timeout = 60 unless defined $timeout;
   my %pids = %{ $p{child_pids} || {} };
   my $deadline = Time::HiRes::time () + $timeout;
   my $last_debug = 0;
   while (1) {
      my @peers = $con->peers;
      last unless @peers;
      for (@peers) { my $pid = $con->peer_pid ($_); $pids{$pid} = 1 if $pid && $pid != $$ }
      if (Time::HiRes::time () >= $deadline) {
         warn "IPC::Manager::Spawn: gave up waiting for clients to disconnect after ${timeout}s: "
            . join (", ", sort @peers) . "\n";
         last;
      }
      if ($self->{debug} && Time::HiRes::time () - $last_debug >= 1) {
         print STDERR "Waiting for clients to go away: " . join (", ", @peers) . "\n";
         $last_debug = Time::HiRes::time ();
      }
      # the route's watch wakes us when an entry goes; poll otherwise
      $con->_wait_peer_change (0.05);
   }
   # a client leaves its entry first and writes its statistics last: one
   # whose entry is gone but whose statistics are not there yet (its
   # pidfile is kept) is still leaving, and is waited for as well
   if (opendir my $dh, $route) {
      for (readdir $dh) {
         next unless /\A(.+)\.pid\z/s && !-e "$route/$1" && !-e "$route/$1.stats";
         my $pid = IPC::Manager::Client::_file_pid ("$route/$_");
         $pids{$pid} = 1 if $pid && $pid != $$ && pid_is_running ($pid) > 0;
      }
   }
   # reap our children among them; wait for the others (a daemonised
   # service, say) to be gone too
   my $reap_deadline = Time::HiRes::time () + 10;
   my $loop;
   while (%pids) {
      for my $pid (keys %pids) {
         my $r = waitpid ($pid, POSIX::WNOHANG ());
         delete $pids{$pid} if $r == $pid || ($r < 0 && !pid_is_running ($pid));
      }
      my $left = $reap_deadline - Time::HiRes::time ();
      last if !%pids || $left <= 0;
      # woken when one of them exits (through a pidfd each, where there
      # are pidfds; elsewhere this is a 10 ms sleep); nothing is reaped
      # there, nor any signal handled. The loop is this wait's own: its
      # descriptors (libevent's signal pipe, the pidfds) go with it, so
      # that a teardown that had to wait leaves none behind
      ($loop ||= IPC::Manager::Core::Loop->new)->wait ([], [], [], [keys %pids], 0, $left < 0.01 ? $left : 0.01);
   }
   return;
}

sub shutdown {
   my $self = shift;
   return unless $self->{pid} && $self->{pid} == $$;
   return unless -d $self->{route};
   my $con = $self->connect ('spawn');
   my %pids;
   for my $peer ($con->peers) { my $pid = $con->peer_pid ($peer); $pids{$pid} = 1 if $pid && $pid != $$ }
   $self->terminate ($con);
   $self->wait ($con, child_pids => \%pids);
   my $err;
   if ($self->{do_sanity_check}) {
      eval { $self->sanity_check ($con); 1 } or $err = $@;
   }
   eval { $con->disconnect; 1 } or warn $@;
   $self->unspawn;
   die $err if $err;
   return;
}

sub DESTROY {
   my $self = shift;
   return unless $self->{guard};
   return unless $self->{pid} && $self->{pid} == $$;
   local ($?, $!);
   $self->shutdown;
   return;
}

sub unspawn {
   my $self = shift;
   $self->{protocol}->unspawn ($self->{route});
   return;
}

sub cleave {
   my $self = shift;
   pipe (my $r, my $w) or die "Could not open a pipe: $!";
   my $pid = fork;
   die "Could not fork: $!" unless defined $pid;
   if ($pid) {
      close $w;
      my $line = <$r>;
      close $r;
      waitpid ($pid, 0);
      chomp $line if defined $line;
      $self->{pid} = $line;
      return $line;
   }
   close $r;
   POSIX::setsid () or die "Can't start a new session: $!";
   my $pid2 = fork;
   die "Could not fork: $!" unless defined $pid2;
   POSIX::_exit (0) if $pid2;
   print $w "$$\n";
   close $w;
   $self->{pid} = $$;
   return 0;
}

sub sanity_delta {
   my ($self, $con) = @_;
   my $own = !$con;
   $con ||= $self->connect ('spawn');
   my $stats = $con->all_stats;
   $stats->{ $con->id } = $con->stats;
   my %delta;
   for my $a (keys %$stats) {
      for my $b (keys %{ $stats->{$a}{sent} || {} }) {
         $delta{"$a -> $b"} += $stats->{$a}{sent}{$b};
      }
      for my $from (keys %{ $stats->{$a}{read} || {} }) {
         $delta{"$from -> $a"} -= $stats->{$a}{read}{$from};
      }
   }
   delete $delta{$_} for grep !$delta{$_}, keys %delta;
   $con->disconnect if $own;
   return %delta ? \%delta : undef;
}

sub sanity_check {
   my ($self, $con) = @_;
   my $delta = $self->sanity_delta ($con) or return;
   die "\nMessages sent vs received mismatch:\n"
      . "  Positive means sent and not recieved.\n"
      . "  negative means recieved more messages than were sent\n"
      . join ("\n", map "    $delta->{$_} $_", sort keys %$delta)
      . "\n\n";
}

1;
__END__

=head1 NAME

IPC::Manager::Spawn - the owner of a bus

=head1 SYNOPSIS

   use IPC::Manager qw(ipcm_spawn ipcm_connect);

   my $spawn = ipcm_spawn (protocol => 'UnixSocket');
   my $info  = "$spawn";                       # give this to other processes
   my $a = $spawn->connect ('a');
   my $b = ipcm_connect (b => $info);
   $a->send_message (b => { hello => 1 });
   undef $spawn;   # terminate broadcast, wait for the clients, remove the bus

=head1 DESCRIPTION

Created by C<ipcm_spawn>. When the last reference goes (in the process
that owns it, and with C<guard> true), it shuts the bus down: it connects
as C<spawn>, sends C<signal> to every client if set, broadcasts
C<< {terminate => 1} >>, disconnects the clients of this process, waits
until every client has left (at most C<IPC_MANAGER_SPAWN_PEER_TIMEOUT> or
60 s, then warns C<IPC::Manager::Spawn: gave up waiting for clients to
disconnect after Ns: NAMES>), reaps them (10 s at most), checks the
statistics if asked, and removes the route.

A client leaves its entry first and writes its statistics file last. The
processes it waits for (and reaps, when they are its children) are those
of the clients listed when it started, and those of clients caught
between the two steps (entry gone, pidfile there, no statistics yet), so
that a statistics file written late neither misses the check nor keeps
the route from being removed. (The original waits only for the entries,
and could leave the route behind holding one such file.)

=head1 METHODS

=over

=item protocol, route, serializer, guard, stash, pid, signal, info, "$spawn"

C<info> is the connection string C<[protocol, serializer, route]> as
JSON. C<< $spawn->{signal} >> may be set at any time.

=item do_sanity_check, set_do_sanity_check, debug, set_debug

=item $client = $spawn->connect ($id)

=item $spawn->terminate ([$con]), $spawn->wait ([$con], peer_timeout => $s, child_pids => {...}), $spawn->shutdown, $spawn->unspawn

=item $pid = $spawn->cleave

Hands the ownership to a detached grandchild (new session): returns its
pid in the caller and 0 in the grandchild.

=item $delta = $spawn->sanity_delta ([$con]), $spawn->sanity_check ([$con])

Sent minus received messages per C<"A -E<gt> B"> pair; C<sanity_check>
dies with a report when any is not zero.

=back

=cut
